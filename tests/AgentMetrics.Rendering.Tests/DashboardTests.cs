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
        ["$__rate_interval"] = "1m",
        ["$namespace"] = Samples.Namespace,
        ["$agent"] = "support",
        ["$pod"] = ".*",
        ["$topn"] = "10",
        ["$anomaly"] = ".*",
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
            foreach (var panel in panels.Where(p => (string?)p!["type"] != "row"))
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
            if (uid is "agent-metrics-agent")
            {
                Assert.Contains("agent=\"$agent\"", alerts, StringComparison.Ordinal);
            }
            else if (uid.StartsWith("agent-metrics-custom-", StringComparison.Ordinal))
            {
                Assert.Contains("agent=~\"$agent\"", alerts, StringComparison.Ordinal);
            }
        }

        var fleet = dashboards.Single(d => (string?)d["uid"] == "agent-metrics-fleet");
        Assert.Equal("5s", (string?)fleet["refresh"]);
        Assert.Contains("1s", fleet["timepicker"]!["refresh_intervals"]!.AsArray().Select(i => (string?)i));
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
    public void TheFleetOverviewReadsOnlyRecordedSeriesAndDrawsABoundedNumberOfAgents()
    {
        var fleet = Dashboards.FleetOverview();
        var raw = BuiltInMetrics.All.Select(m => PromQl.BareName(m.Name, m.Type)).ToList();
        foreach (var target in Targets(fleet))
        {
            var expr = (string)target["expr"]!;
            // Raw series carry no colon in their names; every series the overview reads does (or is ALERTS).
            Assert.DoesNotMatch(@"(^|[^:\w])(agent|gen_ai)_\w+_(bucket|total|sum|count)\{", expr);
            Assert.DoesNotContain("rate(", expr, StringComparison.Ordinal);
            if (expr.Contains("namespace_agent:", StringComparison.Ordinal))
            {
                Assert.Matches(@"(topk|bottomk)\(\$topn, ", expr);
                if (target["instant"] is null)
                {
                    // A range query chooses its agents once, at the end, so no more than $topn lines are drawn.
                    Assert.Contains("@ end()", expr, StringComparison.Ordinal);
                }
            }
        }

        var topn = fleet["templating"]!["list"]!.AsArray().Single(v => (string?)v!["name"] == "topn")!;
        Assert.Equal($"{Dashboards.DefaultTopN}", (string?)topn["current"]!["value"]);
        var table = fleet["panels"]!.AsArray().Single(p => (string?)p!["type"] == "table")!;
        Assert.All(table["targets"]!.AsArray(), t =>
        {
            Assert.True((bool)t!["instant"]!);
            Assert.False((bool)t["range"]!);
        });
        Assert.Contains(table["transformations"]!.AsArray(), t => (string?)t!["id"] == "sortBy");
    }

    [Fact]
    public void EveryRateIsOverGrafanasRateIntervalAndNoPanelShowsRequestsPerSecond()
    {
        foreach (var dashboard in Dashboards.All(Samples.Definitions()))
        {
            foreach (var target in Targets(dashboard))
            {
                var expr = (string)target["expr"]!;
                foreach (System.Text.RegularExpressions.Match rate in System.Text.RegularExpressions.Regex.Matches(expr, @"(rate|increase)\([^\[]*\[([^\]]+)\]"))
                {
                    Assert.True(rate.Groups[1].Value == "rate" && rate.Groups[2].Value == "$__rate_interval", $"{dashboard["uid"]}: {expr}");
                }
            }

            Assert.All(dashboard["panels"]!.AsArray(), p => Assert.NotEqual("reqps", (string?)p!["fieldConfig"]?["defaults"]?["unit"]));
        }

        var fleet = Dashboards.FleetOverview();
        string Unit(string title) => (string)fleet["panels"]!.AsArray().Single(p => (string?)p!["title"] == title)!["fieldConfig"]!["defaults"]!["unit"]!;
        Assert.Equal("suffix: tokens/s", Unit("Tokens per second"));
        Assert.Equal("suffix: errors/s", Unit("Errors and timeouts per second"));
        Assert.Equal("suffix: tasks/s", Unit("Tasks per second"));
    }

    [Fact]
    public void TheStatsTurnRedWhereTheSampleThresholdsAlert()
    {
        var thresholds = Samples.Thresholds().Where(t => t.Spec.Statistic is "completionRate" or "errorRate")
            .ToDictionary(t => t.Spec.Statistic, t => Api.Validation.ThresholdValidator.ReadThreshold(t.Spec.Threshold!.Value).Value);
        Assert.Equal(Dashboards.SampleCompletionRate, thresholds["completionRate"]);
        Assert.Equal(Dashboards.SampleErrorRate, thresholds["errorRate"]);
        foreach (var dashboard in new[] { Dashboards.FleetOverview(), Dashboards.AgentDetail() })
        {
            var completion = dashboard["panels"]!.AsArray().Single(p => (string?)p!["title"] == "Completion rate")!;
            var steps = completion["fieldConfig"]!["defaults"]!["thresholds"]!["steps"]!.AsArray();
            Assert.Equal("red", (string?)steps[0]!["color"]);
            Assert.Equal(Dashboards.SampleCompletionRate, (double)steps[1]!["value"]!);
        }
    }

    [Fact]
    public void TheDetailDashboardDrawsEachAnomalyThresholdsBandAndARolloutByVersion()
    {
        var detail = Dashboards.AgentDetail();
        var panels = detail["panels"]!.AsArray().Select(p => p!.AsObject()).ToList();
        var band = panels.Single(p => (string?)p["repeat"] == "anomaly");
        var exprs = band["targets"]!.AsArray().Select(t => (string)t!["expr"]!).ToList();
        Assert.Contains(exprs, e => e.Contains(":baseline_upper_", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Contains(":baseline_lower_", StringComparison.Ordinal));
        var anomaly = detail["templating"]!["list"]!.AsArray().Single(v => (string?)v!["name"] == "anomaly")!;
        Assert.Contains(":baseline_upper_", (string)anomaly["query"]!["query"]!, StringComparison.Ordinal);

        var anomalous = Samples.Thresholds().Single(t => t.Spec.Anomaly is not null);
        var rules = RuleRenderer.ForThreshold(anomalous, Samples.MetricOf(anomalous.Spec.Metric, Samples.Definitions())).Rules;
        Assert.Contains(rules, r => r.Record?.Contains(":baseline_upper_", StringComparison.Ordinal) == true);
        Assert.Contains(rules, r => r.Record?.Contains(":baseline_lower_", StringComparison.Ordinal) == true);

        var rollout = panels.SkipWhile(p => (string?)p["type"] != "row").Skip(1).TakeWhile(p => (string?)p["type"] != "row").ToList();
        Assert.Equal(4, rollout.Count);
        Assert.All(rollout, p => Assert.Contains("by (agent_version", (string)p["targets"]![0]!["expr"]!, StringComparison.Ordinal));
    }

    [Fact]
    public void TheDetailDashboardsAllPodsAreTheAgentsOwnSoTheContainerPanelsShowOnlyItsContainers()
    {
        var detail = Dashboards.AgentDetail();
        var pod = detail["templating"]!["list"]!.AsArray().Single(v => (string?)v!["name"] == "pod")!;
        Assert.True((bool)pod["includeAll"]!);
        // Grafana's "All" without an allValue is the regex of the variable's values: the agent's pods, not ".*".
        Assert.Null(pod["allValue"]);
        Assert.Contains("agent=\"$agent\"", (string)pod["query"]!["query"]!, StringComparison.Ordinal);
        var containers = Expressions(detail).Where(e => e.Contains("container_", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, containers.Count);
        Assert.All(containers, e => Assert.Contains("pod=~\"$pod\"", e, StringComparison.Ordinal));
    }

    [Fact]
    public void ACustomHistogramsHeatmapIsARateOverTheRateIntervalNotAnIncreaseOverAFixedWindow()
    {
        var heatmaps = Dashboards.CustomMetrics(Samples.Namespace, Samples.Definitions())
            .SelectMany(d => d["panels"]!.AsArray()).Where(p => (string?)p!["type"] == "heatmap").ToList();
        Assert.NotEmpty(heatmaps);
        Assert.All(heatmaps, h => Assert.Matches(@"^sum by \(le\) \(rate\(\w+_bucket\{[^}]*\}\[\$__rate_interval\]\)\)$", (string)h!["targets"]![0]!["expr"]!));
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
        [.. Targets(dashboard).Select(t => (string)t["expr"]!)];

    private static IEnumerable<JsonObject> Targets(JsonObject dashboard) =>
        dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]?.AsArray() ?? []).Select(t => t!.AsObject());

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
