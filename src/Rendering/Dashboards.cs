using System.Text.Json.Nodes;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Rendering;

/// <summary>
/// The Grafana dashboards, as JSON in Grafana's dashboard model: the fleet in real time, one agent in
/// detail, 90 days of history on recorded series, and the custom metrics of a namespace's
/// definitions. Pure functions of their input; every query reads the datasource variable.
/// </summary>
public static class Dashboards
{
    /// <summary>The dashboard model version the JSON follows.</summary>
    public const int SchemaVersion = 39;

    /// <summary>At most this many custom-metric panels share one dashboard, so each ConfigMap stays far below kubectl apply's limit.</summary>
    public const int PanelsPerPage = 60;

    private const string Fleet = "namespace=~\"$namespace\"";
    private const string One = "namespace=\"$namespace\", agent=~\"$agent\", pod=~\"$pod\"";
    private static readonly JsonObject Datasource = new() { ["type"] = "prometheus", ["uid"] = "${datasource}" };

    /// <summary>Every dashboard: the three standing ones and one (or more, if large) per namespace with definitions.</summary>
    public static IReadOnlyList<JsonObject> All(IEnumerable<AgentMetricDefinition> definitions)
    {
        var dashboards = new List<JsonObject> { FleetOverview(), AgentDetail(), History() };
        foreach (var inNamespace in definitions.GroupBy(d => d.Metadata.Namespace!).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            dashboards.AddRange(CustomMetrics(inNamespace.Key, [.. inNamespace]));
        }

        return dashboards;
    }

    /// <summary>The fleet in real time: refreshed every second, over the raw series with short windows.</summary>
    public static JsonObject FleetOverview()
    {
        var layout = new Layout();
        var duration = "agent_task_duration_seconds_bucket";
        List<JsonObject> panels =
        [
            Stat(layout, 4, "Agents reporting", $"count(count by (namespace, pod) (agent_metrics_sidecar_series{{{Fleet}}}))", "none"),
            Stat(layout, 4, "Alerts firing", $"count({FiringAlerts(Fleet)}) or vector(0)", "none", warnAbove: 1),
            Stat(layout, 4, "Tasks per second", $"sum(rate(agent_tasks_total{{{Fleet}}}[1m]))", "reqps"),
            Stat(layout, 4, "Completion rate", Ratio("success", Fleet, ""), "percentunit"),
            Stat(layout, 4, "Error rate", Ratio("failure", Fleet, ""), "percentunit", warnAbove: 0.05),
            Stat(layout, 4, "Cost per task", $"sum(rate(agent_task_cost_dollars_sum{{{Fleet}}}[5m])) / sum(rate(agent_task_cost_dollars_count{{{Fleet}}}[5m]))", "currencyUSD"),
            Series(layout, 12, "Response time p50 / p90 / p99", "s",
                Quantiles(duration, Fleet, "", "")),
            Series(layout, 12, "Response time p99 by agent (outliers highlighted)", "s",
                [
                    Target($"histogram_quantile(0.99, sum by (namespace, agent, le) (rate({duration}{{{Fleet}}}[1m])))", "{{namespace}}/{{agent}}"),
                    Target($"{RuleRenderer.FleetScored[0].Series}{{threshold=\"\", {Fleet}}} and on (namespace, agent) abs({RuleRenderer.FleetZScore(RuleRenderer.FleetScored[0].Series)}{{{Fleet}}}) > 2", "outlier {{namespace}}/{{agent}}", "B"),
                ],
                overrides: [Outliers("B")]),
            Series(layout, 12, "Task outcomes per second", "reqps", [Target($"sum by (outcome) (rate(agent_tasks_total{{{Fleet}}}[1m]))", "{{outcome}}")]),
            Series(layout, 12, "Errors and timeouts per second", "reqps",
                [
                    Target($"sum by (error_type) (rate(agent_errors_total{{{Fleet}}}[1m]))", "error: {{error_type}}"),
                    Target($"sum(rate(agent_tasks_total{{outcome=\"timeout\", {Fleet}}}[1m]))", "timeouts", "B"),
                ]),
            Series(layout, 12, "Tokens per second", "short", [Target($"sum by (gen_ai_token_type) (rate(agent_task_tokens_total{{{Fleet}}}[1m]))", "{{gen_ai_token_type}}")]),
            Series(layout, 12, "Cost per task by agent", "currencyUSD",
                [Target($"sum by (namespace, agent) (rate(agent_task_cost_dollars_sum{{{Fleet}}}[5m])) / sum by (namespace, agent) (rate(agent_task_cost_dollars_count{{{Fleet}}}[5m]))", "{{namespace}}/{{agent}}")]),
            Series(layout, 12, "Handoffs and escalations per second", "reqps",
                [
                    Target($"sum by (outcome) (rate(agent_handoffs_total{{{Fleet}}}[1m]))", "handoff {{outcome}}"),
                    Target($"sum by (reason) (rate(agent_escalations_total{{{Fleet}}}[1m]))", "escalation {{reason}}", "B"),
                ]),
            AnomalyTable(layout),
        ];
        return Dashboard(
            "agent-metrics-fleet", "Agent fleet overview", "1s", "now-15m", FiringAlerts(Fleet), panels,
            [DatasourceVariable(), QueryVariable("namespace", "label_values(agent_metrics_sidecar_series, namespace)", all: true)]);
    }

    /// <summary>One agent (or one of its pods) in detail, with the CPU and memory of its containers from cAdvisor.</summary>
    public static JsonObject AgentDetail()
    {
        var layout = new Layout();
        var duration = "agent_task_duration_seconds_bucket";
        var container = "namespace=\"$namespace\", pod=~\"$pod\", container!=\"\", container!=\"POD\"";
        List<JsonObject> panels =
        [
            Stat(layout, 6, "Tasks per second", $"sum(rate(agent_tasks_total{{{One}}}[1m]))", "reqps"),
            Stat(layout, 6, "Completion rate", Ratio("success", One, ""), "percentunit"),
            Stat(layout, 6, "In flight", $"sum(agent_tasks_in_flight{{{One}}})", "none"),
            Stat(layout, 6, "Queue depth", $"sum(agent_queue_depth{{{One}}})", "none"),
            Series(layout, 12, "Response time p50 / p90 / p99", "s",
                Quantiles(duration, One, "", "")),
            Series(layout, 12, "Tasks by outcome", "reqps", [Target($"sum by (outcome) (rate(agent_tasks_total{{{One}}}[1m]))", "{{outcome}}")]),
            Series(layout, 12, "LLM call duration p99 by model", "s",
                [Target($"histogram_quantile(0.99, sum by (gen_ai_request_model, le) (rate(gen_ai_client_operation_duration_seconds_bucket{{{One}}}[1m])))", "{{gen_ai_request_model}}")]),
            Series(layout, 12, "Errors by type", "reqps", [Target($"sum by (error_type) (rate(agent_errors_total{{{One}}}[1m]))", "{{error_type}}")]),
            Series(layout, 12, "Tokens per second", "short", [Target($"sum by (gen_ai_token_type) (rate(agent_task_tokens_total{{{One}}}[1m]))", "{{gen_ai_token_type}}")]),
            Series(layout, 12, "Cost per task", "currencyUSD",
                [Target($"sum(rate(agent_task_cost_dollars_sum{{{One}}}[5m])) / sum(rate(agent_task_cost_dollars_count{{{One}}}[5m]))", "cost per task")]),
            Series(layout, 12, "CPU by container", "percentunit",
                [Target($"sum by (container) (rate(container_cpu_usage_seconds_total{{{container}}}[1m]))", "{{container}}")]),
            Series(layout, 12, "Memory by container (working set)", "bytes",
                [Target($"sum by (container) (container_memory_working_set_bytes{{{container}}})", "{{container}}")]),
        ];
        return Dashboard(
            "agent-metrics-agent", "Agent detail", "5s", "now-1h", FiringAlerts("namespace=\"$namespace\", agent=~\"$agent\""), panels,
            [
                DatasourceVariable(),
                QueryVariable("namespace", "label_values(agent_metrics_sidecar_series, namespace)", all: false),
                QueryVariable("agent", "label_values(agent_metrics_sidecar_series{namespace=\"$namespace\"}, agent)", all: true),
                QueryVariable("pod", "label_values(agent_metrics_sidecar_series{namespace=\"$namespace\", agent=~\"$agent\"}, pod)", all: true),
            ]);
    }

    /// <summary>90 days on the recorded series, week over week, and where the trend is heading.</summary>
    public static JsonObject History()
    {
        var layout = new Layout();
        var p99 = $"namespace:agent_task_duration_seconds:p99_{RuleRenderer.DefaultWindow}{{{Fleet}}}";
        var completion = $"namespace:agent_tasks:completion_ratio_{RuleRenderer.DefaultWindow}{{{Fleet}}}";
        var cost = $"namespace:agent_task_cost_dollars:avg_{RuleRenderer.DefaultWindow}{{{Fleet}}}";
        var tasks = $"namespace:agent_tasks:rate_{RuleRenderer.DefaultWindow}{{{Fleet}}}";
        List<JsonObject> panels =
        [
            Series(layout, 12, "Response time p99, this week and last", "s",
                [Target(p99, "{{namespace}}"), Target($"{p99} offset 1w", "{{namespace}} a week ago", "B")], overrides: [Dashed("B")]),
            Series(layout, 12, "Completion rate, this week and last", "percentunit",
                [Target(completion, "{{namespace}}"), Target($"{completion} offset 1w", "{{namespace}} a week ago", "B")], overrides: [Dashed("B")]),
            Series(layout, 12, "Response time p99 trend: now, and where a week's trend leads in 7 days", "s",
                [Target(p99, "{{namespace}}"), Target($"predict_linear({p99}[7d], 7 * 86400)", "{{namespace}} in 7 days", "B")], overrides: [Dashed("B")]),
            Series(layout, 12, "Cost per task trend, and in 7 days", "currencyUSD",
                [Target(cost, "{{namespace}}"), Target($"predict_linear({cost}[7d], 7 * 86400)", "{{namespace}} in 7 days", "B")], overrides: [Dashed("B")]),
            Series(layout, 12, "Tasks per second, week over week change", "percentunit",
                [Target($"{tasks} / ({tasks} offset 1w) - 1", "{{namespace}}")]),
            Series(layout, 12, "Error rate by namespace", "percentunit",
                [Target($"namespace:agent_tasks:error_ratio_{RuleRenderer.DefaultWindow}{{{Fleet}}}", "{{namespace}}")]),
        ];
        return Dashboard(
            "agent-metrics-history", "Agent history (90 days)", "1m", "now-90d", FiringAlerts(Fleet), panels,
            [DatasourceVariable(), QueryVariable("namespace", "label_values(namespace:agent_tasks:rate_5m, namespace)", all: true)]);
    }

    /// <summary>A panel per definition of <paramref name="namespace"/>, shaped by its type; several pages when there are many.</summary>
    public static IEnumerable<JsonObject> CustomMetrics(string @namespace, IReadOnlyList<AgentMetricDefinition> definitions)
    {
        var sorted = definitions.OrderBy(d => d.Metadata.Name, StringComparer.Ordinal).ToList();
        var pages = (sorted.Count + PanelsPerPage - 1) / PanelsPerPage;
        for (var page = 0; page < pages; page++)
        {
            var layout = new Layout();
            var panels = sorted.Skip(page * PanelsPerPage).Take(PanelsPerPage).Select(d => CustomPanel(layout, d)).ToList();
            var suffix = pages > 1 ? $" ({page + 1} of {pages})" : "";
            yield return Dashboard(
                CustomUid(@namespace, page), $"Custom agent metrics: {@namespace}{suffix}", "5s", "now-1h",
                FiringAlerts($"namespace={PromQl.String(@namespace)}, agent=~\"$agent\""), panels,
                [DatasourceVariable(), QueryVariable("agent", $"label_values(agent_metrics_sidecar_series{{namespace=\"{@namespace}\"}}, agent)", all: true)]);
        }
    }

    /// <summary>A dashboard's uid (at most 40 characters, Grafana's limit) for the custom metrics of a namespace.</summary>
    public static string CustomUid(string @namespace, int page) =>
        Names.Truncate($"agent-metrics-custom-{@namespace}{(page > 0 ? $"-{page + 1}" : "")}", 40);

    private static JsonObject CustomPanel(Layout layout, AgentMetricDefinition definition)
    {
        var metric = definition.Spec.Metric;
        var scope = $"namespace={PromQl.String(definition.Metadata.Namespace!)}, agent=~\"$agent\"";
        var title = definition.Spec.Dashboard?.Title ?? $"{metric.Name} ({definition.Metadata.Name})";
        var unit = metric.Unit switch
        {
            "seconds" => "s",
            "bytes" => "bytes",
            "dollars" => "currencyUSD",
            "ratio" => "percentunit",
            _ => "short",
        };
        var type = metric.ParsedType ?? MetricType.Gauge;
        var panelType = definition.Spec.Dashboard?.Panel ?? (type == MetricType.Histogram ? "heatmap" : "timeseries");
        var quantiles = Quantiles($"{metric.Name}_bucket", scope, "agent, ", "{{agent}} ");
        var (targets, shownUnit) = type switch
        {
            MetricType.Histogram when panelType == "heatmap" =>
                (new[] { Target($"sum by (le) (increase({metric.Name}_bucket{{{scope}}}[1m]))", "{{le}}") }, unit),
            MetricType.Histogram when panelType != "timeseries" =>
                ([Target($"histogram_quantile(0.99, sum by (le) (rate({metric.Name}_bucket{{{scope}}}[5m])))", "p99")], unit),
            MetricType.Histogram => (quantiles, unit),
            MetricType.Counter =>
                ([Target($"sum by (agent) (rate({PromQl.BareName(metric.Name, MetricType.Counter)}_total{{{scope}}}[1m]))", "{{agent}}")], unit == "short" ? "reqps" : unit),
            _ => ([Target($"max by (agent) ({metric.Name}{{{scope}}})", "{{agent}}")], unit),
        };
        if (panelType == "heatmap")
        {
            targets[0]["format"] = "heatmap";
            var heatmap = Panel(layout, 12, 8, "heatmap", title, shownUnit, new JsonArray([.. targets]));
            heatmap["options"] = new JsonObject
            {
                ["calculate"] = false,
                ["yAxis"] = new JsonObject { ["unit"] = shownUnit },
                ["color"] = new JsonObject { ["scheme"] = "Oranges", ["mode"] = "scheme" },
            };
            return heatmap;
        }

        return panelType == "timeseries"
            ? Series(layout, 12, title, shownUnit, targets)
            : Panel(layout, 6, 8, panelType, title, shownUnit, new JsonArray([.. targets]));
    }

    /// <summary>p50, p90 and p99 of a histogram's buckets, one target each, grouped by <paramref name="by"/> (empty, or labels ending in ", ").</summary>
    private static JsonObject[] Quantiles(string buckets, string selector, string by, string legend) =>
        [.. new[] { ("0.5", "p50", "A"), ("0.9", "p90", "B"), ("0.99", "p99", "C") }.Select(q => Target(
            $"histogram_quantile({q.Item1}, sum by ({by}le) (rate({buckets}{{{selector}}}[1m])))", $"{legend}{q.Item2}", q.Item3))];

    private static string Ratio(string outcome, string selector, string by)
    {
        var group = by.Length == 0 ? "" : $" by ({by})";
        return $"(sum{group} (rate(agent_tasks_total{{outcome=\"{outcome}\", {selector}}}[5m])) or sum{group} (rate(agent_tasks_total{{{selector}}}[5m])) * 0)"
            + $" / sum{group} (rate(agent_tasks_total{{{selector}}}[5m]))";
    }

    /// <summary>Each agent's fleet z-scores, coloured by how far out it stands: the anomalies at a glance.</summary>
    private static JsonObject AnomalyTable(Layout layout)
    {
        var targets = new JsonArray();
        var refs = new[] { "A", "B", "C" };
        var titles = new[] { "p99 response time (z)", "error rate (z)", "cost per task (z)" };
        for (var i = 0; i < RuleRenderer.FleetScored.Count; i++)
        {
            var target = Target($"{RuleRenderer.FleetZScore(RuleRenderer.FleetScored[i].Series)}{{{Fleet}}}", titles[i], refs[i]);
            target["format"] = "table";
            target["instant"] = true;
            targets.Add(target);
        }

        var panel = Panel(layout, 24, 8, "table", "Anomalies: each agent against its namespace's fleet, in standard deviations", "none", targets);
        panel["fieldConfig"]!["defaults"]!["thresholds"] = Steps(("green", null), ("orange", 2), ("red", 3));
        panel["fieldConfig"]!["defaults"]!["custom"] = new JsonObject { ["cellOptions"] = new JsonObject { ["type"] = "color-background" } };
        panel["transformations"] = new JsonArray(
            new JsonObject { ["id"] = "merge", ["options"] = new JsonObject() },
            new JsonObject
            {
                ["id"] = "organize",
                ["options"] = new JsonObject
                {
                    ["excludeByName"] = new JsonObject { ["Time"] = true },
                    ["renameByName"] = new JsonObject { ["Value #A"] = titles[0], ["Value #B"] = titles[1], ["Value #C"] = titles[2] },
                },
            });
        return panel;
    }

    /// <summary>
    /// The firing alerts of agent-metrics' own thresholds (every one carries a threshold label) for the
    /// agents <paramref name="agents"/> selects, so a dashboard never shows another system's alerts, or
    /// another namespace's or agent's.
    /// </summary>
    public static string FiringAlerts(string agents) => $"ALERTS{{alertstate=\"firing\", threshold!=\"\", {agents}}}";

    private static JsonObject Dashboard(string uid, string title, string refresh, string from, string alerts, List<JsonObject> panels, JsonArray variables) => new()
    {
        ["uid"] = uid,
        ["title"] = title,
        ["tags"] = new JsonArray("agent-metrics"),
        ["editable"] = true,
        ["graphTooltip"] = 1,
        ["timezone"] = "browser",
        ["refresh"] = refresh,
        ["time"] = new JsonObject { ["from"] = from, ["to"] = "now" },
        ["schemaVersion"] = SchemaVersion,
        ["version"] = 1,
        ["templating"] = new JsonObject { ["list"] = variables },
        ["annotations"] = new JsonObject
        {
            ["list"] = new JsonArray(new JsonObject
            {
                ["name"] = "Alerts firing",
                ["datasource"] = Datasource.DeepClone(),
                ["enable"] = true,
                ["iconColor"] = "red",
                ["expr"] = alerts,
                ["step"] = "30s",
                ["titleFormat"] = "{{alertname}}",
                ["textFormat"] = "{{namespace}} {{agent}} {{severity}}",
                ["useValueForTime"] = false,
            }),
        },
        ["panels"] = new JsonArray([.. panels]),
    };

    private static JsonObject Stat(Layout layout, int width, string title, string expr, string unit, double? warnAbove = null)
    {
        var panel = Panel(layout, width, 4, "stat", title, unit, new JsonArray(Target(expr, title)));
        if (warnAbove is { } limit)
        {
            panel["fieldConfig"]!["defaults"]!["thresholds"] = Steps(("green", null), ("red", limit));
        }

        panel["options"] = new JsonObject { ["colorMode"] = "value", ["graphMode"] = "area", ["reduceOptions"] = new JsonObject { ["calcs"] = new JsonArray("lastNotNull") } };
        return panel;
    }

    private static JsonObject Series(Layout layout, int width, string title, string unit, JsonObject[] targets, JsonObject[]? overrides = null)
    {
        var panel = Panel(layout, width, 8, "timeseries", title, unit, new JsonArray([.. targets]));
        if (overrides is not null)
        {
            panel["fieldConfig"]!["overrides"] = new JsonArray([.. overrides]);
        }

        panel["options"] = new JsonObject { ["legend"] = new JsonObject { ["displayMode"] = "list", ["placement"] = "bottom", ["showLegend"] = true } };
        return panel;
    }

    private static JsonObject Panel(Layout layout, int width, int height, string type, string title, string unit, JsonArray targets) => new()
    {
        ["id"] = layout.NextId(),
        ["type"] = type,
        ["title"] = title,
        ["datasource"] = Datasource.DeepClone(),
        ["gridPos"] = layout.Place(width, height),
        ["targets"] = targets,
        ["fieldConfig"] = new JsonObject
        {
            ["defaults"] = new JsonObject { ["unit"] = unit, ["thresholds"] = Steps(("green", null)) },
            ["overrides"] = new JsonArray(),
        },
    };

    private static JsonObject Target(string expr, string legend, string refId = "A") => new()
    {
        ["refId"] = refId,
        ["datasource"] = Datasource.DeepClone(),
        ["expr"] = expr,
        ["legendFormat"] = legend,
        ["range"] = true,
    };

    private static JsonObject Outliers(string refId) => new()
    {
        ["matcher"] = new JsonObject { ["id"] = "byFrameRefID", ["options"] = refId },
        ["properties"] = new JsonArray(
            new JsonObject { ["id"] = "color", ["value"] = new JsonObject { ["mode"] = "fixed", ["fixedColor"] = "red" } },
            new JsonObject { ["id"] = "custom.lineWidth", ["value"] = 4 },
            new JsonObject { ["id"] = "custom.showPoints", ["value"] = "always" }),
    };

    private static JsonObject Dashed(string refId) => new()
    {
        ["matcher"] = new JsonObject { ["id"] = "byFrameRefID", ["options"] = refId },
        ["properties"] = new JsonArray(new JsonObject
        {
            ["id"] = "custom.lineStyle",
            ["value"] = new JsonObject { ["fill"] = "dash", ["dash"] = new JsonArray(10, 10) },
        }),
    };

    private static JsonObject Steps(params (string Color, double? Value)[] steps) => new()
    {
        ["mode"] = "absolute",
        ["steps"] = new JsonArray([.. steps.Select(s => (JsonNode)new JsonObject { ["color"] = s.Color, ["value"] = s.Value })]),
    };

    private static JsonObject DatasourceVariable() => new()
    {
        ["name"] = "datasource",
        ["label"] = "Data source",
        ["type"] = "datasource",
        ["query"] = "prometheus",
        ["refresh"] = 1,
        ["hide"] = 0,
        ["current"] = new JsonObject(),
    };

    private static JsonObject QueryVariable(string name, string query, bool all)
    {
        var variable = new JsonObject
        {
            ["name"] = name,
            ["type"] = "query",
            ["datasource"] = Datasource.DeepClone(),
            ["definition"] = query,
            ["query"] = new JsonObject { ["query"] = query, ["refId"] = "PrometheusVariableQueryEditor-VariableQuery" },
            ["refresh"] = 2,
            ["sort"] = 1,
            ["multi"] = all,
            ["includeAll"] = all,
            ["current"] = new JsonObject(),
        };
        if (all)
        {
            variable["allValue"] = ".*";
        }

        return variable;
    }

    /// <summary>Places panels left to right on Grafana's 24-column grid, wrapping to a new row when one is full.</summary>
    private sealed class Layout
    {
        private int _id;
        private int _x;
        private int _y;
        private int _rowHeight;

        public int NextId() => ++_id;

        public JsonObject Place(int width, int height)
        {
            if (_x + width > 24)
            {
                _x = 0;
                _y += _rowHeight;
                _rowHeight = 0;
            }

            var position = new JsonObject { ["h"] = height, ["w"] = width, ["x"] = _x, ["y"] = _y };
            _x += width;
            _rowHeight = Math.Max(_rowHeight, height);
            return position;
        }
    }
}
