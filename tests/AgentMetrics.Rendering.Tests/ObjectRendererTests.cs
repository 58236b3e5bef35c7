using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Rendering.Tests;

public sealed class ObjectRendererTests
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    [Theory]
    [InlineData(OutputMode.PrometheusOperator, "objects.prometheus-operator.json")]
    [InlineData(OutputMode.ConfigMaps, "objects.configmaps.json")]
    public void TheSamplesRenderToTheGoldenObjects(OutputMode mode, string golden)
    {
        var options = new OutputOptions { Mode = mode };

        var objects = RenderSamples(options);

        var json = new JsonArray([.. objects.Select(o => JsonNode.Parse(JsonSerializer.Serialize(o, KubernetesJsonContext.Default.KubernetesObject)))]);
        Golden.AssertMatches($"tests/AgentMetrics.Rendering.Tests/golden/{golden}", json.ToJsonString(Indented) + "\n");
    }

    [Fact]
    public async Task ThePrometheusRulesGroupsPassPromtool()
    {
        var groups = new JsonArray();
        foreach (var rule in RenderSamples(new OutputOptions()).Where(o => o.Kind == "PrometheusRule"))
        {
            foreach (var group in rule.Body["spec"]!["groups"]!.AsArray())
            {
                groups.Add(group!.DeepClone());
            }
        }

        var directory = ProcessRegistry.Current.CreateDirectory("promtool-operator");
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.json"), new JsonObject { ["groups"] = groups }.ToJsonString());
        var (exitCode, output) = await Promtool.RunAsync(directory, null, "check", "rules", "rules.json");

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public void ChildrenCarryTheSelectorLabelsAndAControllingOwnerReference()
    {
        var options = new OutputOptions { SelectorLabels = new Dictionary<string, string> { ["release"] = "monitoring" } };
        var threshold = Samples.Thresholds()[0];
        threshold.Metadata.Uid = "uid-1";

        var rule = PrometheusOutput.For(options).Rules(threshold, RuleRenderer.ForThreshold(threshold, Api.Catalog.BuiltInMetrics.Tasks));

        Assert.Equal("monitoring", rule.Metadata.Labels!["release"]);
        Assert.Equal("agent-metrics", rule.Metadata.Labels[Names.ManagedByLabel]);
        var owner = Assert.Single(rule.Metadata.OwnerReferences!);
        Assert.Equal(("AlertThreshold", threshold.Metadata.Name, "uid-1", true), (owner.Kind, owner.Name, owner.Uid, owner.Controller));
    }

    [Fact]
    public void LongNamesAreTruncatedToTheirFirst54CharactersAndAHashOfTheWhole()
    {
        const string name = "agentmetrics-threshold-a-very-long-name-that-goes-well-beyond-the-label-limit";

        var truncated = Names.Truncate(name);

        Assert.Matches($"^{name[..54]}-[0-9a-f]{{8}}$", truncated);
        Assert.Equal(63, truncated.Length);
        Assert.NotEqual(truncated, Names.Truncate(name + "x"));
        Assert.Equal("agentmetrics-threshold-short", Names.Truncate("agentmetrics-threshold-short"));
    }

    private static List<KubernetesObject> RenderSamples(OutputOptions options)
    {
        var definitions = Samples.Definitions();
        var thresholds = Samples.Thresholds();
        foreach (var (obj, i) in definitions.Cast<IKubernetesObject>().Concat(thresholds).Select((o, i) => (o, i)))
        {
            obj.Metadata.Uid = $"00000000-0000-0000-0000-{i:D12}";
        }

        var output = PrometheusOutput.For(options);
        var objects = new List<KubernetesObject> { output.Scrape(Samples.Namespace) };
        objects.AddRange(definitions.Select(d => output.Rules(d, RuleRenderer.ForDefinition(d))));
        objects.AddRange(thresholds.Select(t => output.Rules(t, RuleRenderer.ForThreshold(t, Samples.MetricOf(t.Spec.Metric, definitions)))));
        return objects;
    }
}
