using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// render, run as the built program on config/samples: the same objects as the renderer's golden files
/// and the operator's dashboards and built-in rules, rule files promtool accepts, flags as the
/// operator's, and nothing rendered for an object with errors.
/// </summary>
public sealed class RenderTests
{
    private const string Namespace = "agents";

    [Theory]
    [InlineData("prometheus-operator", "objects.prometheus-operator.json")]
    [InlineData("configmaps", "objects.configmaps.json")]
    public async Task TheSamplesRenderAsTheGoldenFilesThenTheOperatorsBuiltInRulesAndDashboards(string mode, string golden)
    {
        var result = await Plugin.RunAsync(["render", "--output", mode, "-n", Namespace, RepoPaths.Combine("config", "samples")]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var rendered = YamlJson.ParseAll(result.Stdout).Select(n => n!.ToJsonString()).ToList();
        var expected = JsonNode.Parse(File.ReadAllText(RepoPaths.Combine("tests", "AgentMetrics.Rendering.Tests", "golden", golden)))!.AsArray()
            .Select(o =>
            {
                // The golden objects' owners have uids; read from files they have none, and a reference needs one.
                o!["metadata"]!.AsObject().Remove("ownerReferences");
                return o.ToJsonString();
            })
            .ToList();
        var output = PrometheusOutput.For(new OutputOptions { Mode = mode == "configmaps" ? OutputMode.ConfigMaps : OutputMode.PrometheusOperator });
        expected.Add(Json(output.BuiltInRules(Names.OperatorNamespace)));
        expected.AddRange(Dashboards.All(SampleDefinitions()).Select(d => Json(ObjectRenderer.Dashboard(d, Names.OperatorNamespace, new DashboardOptions()))));

        Assert.Equal(expected.Count, rendered.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == rendered[i], $"object {i} differs:\nexpected {expected[i][..Math.Min(400, expected[i].Length)]}\nrendered {rendered[i][..Math.Min(400, rendered[i].Length)]}");
        }
    }

    [Theory]
    [InlineData("prometheus-operator")]
    [InlineData("configmaps")]
    public async Task TheRenderedRulesPassPromtool(string mode)
    {
        var result = await Plugin.RunAsync(["render", "--output", mode, RepoPaths.Combine("config", "samples")]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var directory = Plugin.Directory("promtool-cli");
        var files = new List<string>();
        foreach (var obj in YamlJson.ParseAll(result.Stdout).Select(n => n!.AsObject()))
        {
            if ((string?)obj["kind"] == "PrometheusRule")
            {
                var file = $"{obj["metadata"]!["name"]}.json";
                File.WriteAllText(Path.Combine(directory, file), new JsonObject { ["groups"] = obj["spec"]!["groups"]!.DeepClone() }.ToJsonString());
                files.Add(file);
            }
            else if ((string?)obj["metadata"]!["labels"]?[Names.RulesLabel] == "true")
            {
                foreach (var (key, value) in obj["data"]!.AsObject())
                {
                    File.WriteAllText(Path.Combine(directory, key), (string)value!);
                    files.Add(key);
                }
            }
        }

        var (exitCode, check) = await Promtool.RunAsync(directory, null, ["check", "rules", .. files]);

        Assert.True(files.Count > Directory.GetFiles(RepoPaths.Combine("config", "samples")).Length, $"only {files.Count} rule files were rendered");
        Assert.True(exitCode == 0, check);
    }

    [Fact]
    public async Task FlagsAreTheOperatorsAndPlaceWhatTheyName()
    {
        var result = await Plugin.RunAsync([
            "render", "--selector-labels", "release=monitoring,team=platform", "--operator-namespace", "monitoring",
            "--dashboard-folder", "Agents", "--dashboard-folder-annotation", "grafana_dashboard_folder", RepoPaths.Combine("config", "samples")]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var objects = YamlJson.ParseAll(result.Stdout).Select(n => n!).ToList();
        Assert.All(objects.Where(o => (string?)o["kind"] == "PrometheusRule"), o =>
            Assert.Equal(("monitoring", "platform"), ((string?)o["metadata"]!["labels"]!["release"], (string?)o["metadata"]!["labels"]!["team"])));
        var dashboards = objects.Where(o => o["metadata"]!["labels"]?[Names.GrafanaDashboardLabel] is not null).ToList();
        Assert.NotEmpty(dashboards);
        Assert.All(dashboards, d => Assert.Equal(("monitoring", "Agents"), ((string?)d["metadata"]!["namespace"], (string?)d["metadata"]!["annotations"]!["grafana_dashboard_folder"])));
    }

    [Fact]
    public async Task AnObjectWithAnErrorIsReportedAndNothingIsRendered()
    {
        var directory = Plugin.Directory("render-invalid");
        File.Copy(RepoPaths.Combine("config", "samples", "alertthreshold-error-rate.yaml"), Path.Combine(directory, "a.yaml"));
        File.WriteAllText(Path.Combine(directory, "b.yaml"), "apiVersion: agentmetrics.io/v1alpha1\nkind: AlertThreshold\nmetadata:\n  name: bad\nspec:\n  metric: agent_tasks_total\n  statistic: errorRate\n  threshold: 0.1\n  severity: page\n");

        var result = await Plugin.RunAsync(["render", directory]);

        Assert.Equal((1, ""), (result.ExitCode, result.Stdout));
        Assert.Equal($"{directory}/b.yaml:9: AlertThreshold/bad: spec.severity: must be critical, warning or info, got \"page\"\n", result.Stderr);
    }

    [Theory]
    [InlineData("--output=grafana", "--output must be prometheus-operator or configmaps, got \"grafana\"")]
    [InlineData("--selector-labels=release", "--selector-labels takes key=value pairs, got \"release\"")]
    public async Task ABadFlagValueExitsWith2NamingTheFlag(string flag, string expected)
    {
        var result = await Plugin.RunAsync(["render", flag, RepoPaths.Combine("config", "samples")]);

        Assert.Equal((2, ""), (result.ExitCode, result.Stdout));
        Assert.Equal($"kubectl-agentmetrics: {expected}\n", result.Stderr);
    }

    private static string Json(KubernetesObject obj) => JsonSerializer.SerializeToNode(obj, KubernetesJsonContext.Default.KubernetesObject)!.ToJsonString();

    private static List<AgentMetricDefinition> SampleDefinitions() =>
        [.. Directory.GetFiles(RepoPaths.Combine("config", "samples"), "agentmetricdefinition-*.yaml").Order(StringComparer.Ordinal).Select(f =>
        {
            var definition = YamlJson.Parse(File.ReadAllText(f))!.Deserialize(ApiJsonContext.Default.AgentMetricDefinition)!;
            definition.Metadata.Namespace = Namespace;
            return definition;
        })];
}
