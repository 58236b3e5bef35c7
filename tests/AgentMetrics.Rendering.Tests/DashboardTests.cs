using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Rendering.Tests;

/// <summary>The Grafana dashboards: the dashboard model's shape, every query valid PromQL, custom panels shaped by type, and size.</summary>
public sealed class DashboardTests
{
    /// <summary>What Grafana substitutes for each variable when "All" (or one value) is chosen.</summary>
    private static readonly Dictionary<string, string> Variables = new()
    {
        ["$namespace"] = Samples.Namespace,
        ["$agent"] = ".*",
        ["$pod"] = ".*",
    };

    [Fact]
    public void EveryDashboardFollowsTheDashboardModel()
    {
        var dashboards = Dashboards.All(Samples.Definitions());
        Assert.Equal(4, dashboards.Count);
        Assert.Equal(dashboards.Count, dashboards.Select(d => (string?)d["uid"]).Distinct().Count());
        foreach (var dashboard in dashboards)
        {
            var uid = (string)dashboard["uid"]!;
            Assert.True(uid.Length <= 40, uid);
            Assert.Equal(Dashboards.SchemaVersion, (int)dashboard["schemaVersion"]!);
            var variables = dashboard["templating"]!["list"]!.AsArray();
            Assert.Contains(variables, v => (string?)v!["type"] == "datasource" && (string?)v["name"] == "datasource");
            var panels = dashboard["panels"]!.AsArray();
            Assert.NotEmpty(panels);
            Assert.Equal(panels.Count, panels.Select(p => (int)p!["id"]!).Distinct().Count());
            foreach (var panel in panels)
            {
                var grid = panel!["gridPos"]!;
                Assert.InRange((int)grid["x"]! + (int)grid["w"]!, 1, 24);
                Assert.Equal("${datasource}", (string?)panel["datasource"]!["uid"]);
                Assert.All(panel["targets"]!.AsArray(), t => Assert.Equal("${datasource}", (string?)t!["datasource"]!["uid"]));
                var refIds = panel["targets"]!.AsArray().Select(t => (string?)t!["refId"]).ToList();
                Assert.Equal(refIds.Count, refIds.Distinct().Count());
            }

            // Only agent-metrics' own alerts (they carry a threshold label), and only for the agents the dashboard shows.
            var alerts = (string)dashboard["annotations"]!["list"]![0]!["expr"]!;
            Assert.StartsWith("ALERTS{alertstate=\"firing\", threshold!=\"\", namespace", alerts, StringComparison.Ordinal);
            if (uid is "agent-metrics-agent" || uid.StartsWith("agent-metrics-custom-", StringComparison.Ordinal))
            {
                Assert.Contains("agent=~\"$agent\"", alerts, StringComparison.Ordinal);
            }
        }

        var fleet = dashboards.Single(d => (string?)d["uid"] == "agent-metrics-fleet");
        Assert.Equal("1s", (string?)fleet["refresh"]);
        var history = dashboards.Single(d => (string?)d["uid"] == "agent-metrics-history");
        Assert.Equal("now-90d", (string?)history["time"]!["from"]);
        var expressions = Expressions(history);
        Assert.Contains(expressions, e => e.Contains("offset 1w", StringComparison.Ordinal));
        Assert.Contains(expressions, e => e.StartsWith("predict_linear(", StringComparison.Ordinal));
        Assert.All(expressions, e => Assert.Contains("namespace:", e, StringComparison.Ordinal));
        Assert.Contains(Expressions(dashboards.Single(d => (string?)d["uid"] == "agent-metrics-agent")), e => e.Contains("container_memory_working_set_bytes", StringComparison.Ordinal));
        Assert.Contains(Expressions(fleet), e => e.Contains(":fleet_zscore", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EveryQueryWithItsVariablesSubstitutedIsValidPromQl()
    {
        var rules = new StringBuilder("groups:\n- name: dashboard-queries\n  rules:\n");
        var n = 0;
        foreach (var dashboard in Dashboards.All(Samples.Definitions()))
        {
            foreach (var expr in Expressions(dashboard).Append((string)dashboard["annotations"]!["list"]![0]!["expr"]!))
            {
                rules.Append(FormattableString.Invariant($"  - record: dashboard_query_{n++}\n    expr: {JsonSerializer.Serialize(Substitute(expr))}\n"));
            }
        }

        var directory = ProcessRegistry.Current.CreateDirectory("dashboard-queries");
        var file = Path.Combine(directory, "queries.rules.yaml");
        await File.WriteAllTextAsync(file, rules.ToString());
        var (exitCode, output) = await Promtool.RunAsync(directory, null, "check", "rules", file);
        Assert.True(exitCode == 0, output);
        Assert.Contains($"SUCCESS: {n} rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CustomPanelsAreShapedByTheMetricsType()
    {
        var panels = Dashboards.CustomMetrics(Samples.Namespace, Samples.Definitions())
            .SelectMany(d => d["panels"]!.AsArray()).ToList();
        Assert.Equal(Samples.Definitions().Count, panels.Count);
        foreach (var (definition, panel) in Samples.Definitions().OrderBy(d => d.Metadata.Name, StringComparer.Ordinal).Zip(panels))
        {
            var expr = (string)panel!["targets"]![0]!["expr"]!;
            switch (definition.Spec.Metric.ParsedType)
            {
                case MetricType.Histogram:
                    Assert.Equal(definition.Spec.Dashboard?.Panel ?? "heatmap", (string?)panel["type"]);
                    Assert.Contains($"{definition.Spec.Metric.Name}_bucket", expr, StringComparison.Ordinal);
                    break;
                case MetricType.Counter:
                    Assert.Contains($"rate({PromQl.BareName(definition.Spec.Metric.Name, MetricType.Counter)}_total{{", expr, StringComparison.Ordinal);
                    break;
                default:
                    Assert.StartsWith($"max by (agent) ({definition.Spec.Metric.Name}{{", expr, StringComparison.Ordinal);
                    break;
            }
        }
    }

    [Fact]
    public void ManyDefinitionsArePagedAndEachConfigMapStaysWellUnderTheApplyLimit()
    {
        var many = Enumerable.Range(0, 130).Select(i => Definition($"metric-with-a-rather-long-name-to-fill-the-page-{i:D3}")).ToList();
        var pages = Dashboards.CustomMetrics("a-namespace-with-a-long-name", many).ToList();
        Assert.Equal(3, pages.Count);
        Assert.Equal(130, pages.Sum(p => p["panels"]!.AsArray().Count));
        foreach (var page in pages)
        {
            var configMap = ObjectRenderer.Dashboard(page, "agent-metrics-system", new DashboardOptions { Folder = "Agents" });
            Assert.Equal("1", configMap.Metadata.Labels![Names.GrafanaDashboardLabel]);
            Assert.Equal("Agents", configMap.Metadata.Annotations!["grafana_folder"]);
            Assert.True(configMap.Metadata.Name!.Length <= 63);

            // kubectl apply keeps the whole object in an annotation, whose limit is 256 KiB.
            var size = JsonSerializer.Serialize(configMap, KubernetesJsonContext.Default.KubernetesObject).Length;
            Assert.True(size < 128 * 1024, $"{configMap.Metadata.Name} is {size} bytes");
        }
    }

    private static List<string> Expressions(JsonObject dashboard) =>
        [.. dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray()).Select(t => (string)t!["expr"]!)];

    private static string Substitute(string expr) =>
        Variables.Aggregate(expr, (text, variable) => text.Replace(variable.Key, variable.Value, StringComparison.Ordinal));

    private static AgentMetricDefinition Definition(string name) => new()
    {
        ApiVersion = "agentmetrics.io/v1alpha1",
        Kind = "AgentMetricDefinition",
        Metadata = new ObjectMeta { Name = name, Namespace = "a-namespace-with-a-long-name" },
        Spec = new AgentMetricDefinitionSpec
        {
            Metric = new MetricDescription { Name = name.Replace('-', '_'), Type = "histogram", Help = "A histogram." },
            Source = new MetricSource { Kind = "Event", Name = name.Replace('-', '_') },
        },
    };
}
