using System.Text.Json;
using System.Text.Json.Serialization;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Testing;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace AgentMetrics.Api.Tests;

/// <summary>The CRDs and samples, read as a person and the real API server read them.</summary>
public sealed class CrdTests
{
    public static TheoryData<string> Crds => [.. Directory.GetFiles(RepoPaths.Combine("config", "crd"), "*.yaml").Select(f => Path.GetFileName(f))];

    public static TheoryData<string> Samples => [.. Directory.GetFiles(RepoPaths.Combine("config", "samples"), "*.yaml").Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Crds))]
    public void EveryFieldOfTheSchemaHasADescription(string crd)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(RepoPaths.Combine("config", "crd", crd))));
        var versions = (YamlSequenceNode)Walk((YamlMappingNode)stream.Documents[0].RootNode, "spec").Children[new YamlScalarNode("versions")];
        var version = (YamlMappingNode)Assert.Single(versions.Children);
        var missing = new List<string>();

        Describe(Walk(version, "schema", "openAPIV3Schema"), "", missing);

        Assert.Empty(missing);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public async Task EachSampleIsAcceptedByTheApiServerAndPassesValidation(string sample)
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("sample");
        var path = RepoPaths.Combine("config", "samples", sample);

        var json = await plane.Kubectl.RunAsync("apply", "--server-side", "--dry-run=server", "-n", ns.Name, "-f", path, "-o", "json");

        var definitions = Directory.GetFiles(RepoPaths.Combine("config", "samples"), "agentmetricdefinition-*.yaml")
            .Select(f => YamlToDefinition(f)).ToList();
        var context = new ValidationContext { Definitions = definitions };
        var errors = sample.StartsWith("agentmetricdefinition", StringComparison.Ordinal)
            ? DefinitionValidator.Validate(JsonSerializer.Deserialize(json, StrictJsonContext.Default.AgentMetricDefinition)!, context)
            : ThresholdValidator.Validate(JsonSerializer.Deserialize(json, StrictJsonContext.Default.AlertThreshold)!, context);
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("webhook")]
    [InlineData("rbac")]
    public async Task TheInstallManifestsAreAcceptedByTheApiServer(string folder)
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.Kubectl.TryRunAsync(null, "create", "namespace", "agent-metrics-system");

        var result = await plane.Kubectl.TryRunAsync(null, "apply", "--server-side", "--dry-run=server", "-f", RepoPaths.Combine("config", folder));

        Assert.True(result.ExitCode == 0, result.Stderr);
    }

    [Fact]
    public async Task KubectlExplainTellsWhatAFieldIsFor()
    {
        var plane = await ControlPlane.SharedAsync();

        var explained = await plane.Kubectl.RunAsync("explain", "agentmetricdefinitions.spec.metric.name");

        Assert.Contains("The Prometheus metric name", explained, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KubectlGetShowsTheStateAtAGlance()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("columns");
        await plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", RepoPaths.Combine("config", "samples", "agentmetricdefinition-histogram-event.yaml"));
        await plane.Kubectl.RunAsync(
            "patch", "agentmetricdefinition", "refund-amount", "-n", ns.Name, "--subresource=status", "--type=merge", "-p",
            """{"status":{"matchedAgents":3,"injectedAgents":2,"seriesEstimate":600,"conditions":[{"type":"Ready","status":"True","reason":"Collecting","message":"3 agents","lastTransitionTime":"2026-11-21T10:00:00Z"}]}}""");

        var table = await plane.Kubectl.RunAsync("get", "agentmetrics", "-n", ns.Name);

        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "READY", "REASON", "METRIC", "TYPE", "AGENTS", "INJECTED", "SERIES", "AGE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            ["agentmetricdefinition.agentmetrics.io/refund-amount", "True", "Collecting", "refund_amount_dollars", "histogram", "3", "2", "600"],
            lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..8]);
        Assert.Contains("refund-amount", await plane.Kubectl.RunAsync("get", "amd", "-n", ns.Name, "-o", "name"), StringComparison.Ordinal);
    }

    private static AgentMetricDefinition YamlToDefinition(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        var name = ((YamlScalarNode)Walk(root, "metadata").Children[new YamlScalarNode("name")]).Value!;
        var spec = Walk(root, "spec");
        var metric = Walk(spec, "metric");
        return new AgentMetricDefinition
        {
            Metadata = new() { Name = name },
            Spec = new AgentMetricDefinitionSpec
            {
                Metric = new MetricDescription
                {
                    Name = ((YamlScalarNode)metric.Children[new YamlScalarNode("name")]).Value!,
                    Type = ((YamlScalarNode)metric.Children[new YamlScalarNode("type")]).Value!,
                },
            },
        };
    }

    private static YamlMappingNode Walk(YamlMappingNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = (YamlMappingNode)node.Children[new YamlScalarNode(key)];
        }

        return node;
    }

    private static void Describe(YamlMappingNode schema, string path, List<string> missing)
    {
        if (!schema.Children.ContainsKey(new YamlScalarNode("properties")))
        {
            return;
        }

        foreach (var (key, value) in ((YamlMappingNode)schema.Children[new YamlScalarNode("properties")]).Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            var field = path.Length == 0 ? name : $"{path}.{name}";
            var property = (YamlMappingNode)value;
            if (name != "metadata" && !property.Children.ContainsKey(new YamlScalarNode("description")))
            {
                missing.Add(field);
            }

            Describe(property, field, missing);
            if (property.Children.TryGetValue(new YamlScalarNode("items"), out var items) && items is YamlMappingNode itemSchema)
            {
                Describe(itemSchema, $"{field}[]", missing);
            }
        }
    }
}

/// <summary>Deserialization that refuses fields the types do not know, so a sample cannot drift from the model.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(AgentMetricDefinition))]
[JsonSerializable(typeof(AlertThreshold))]
internal sealed partial class StrictJsonContext : JsonSerializerContext;
