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

    /// <summary>How many agents a per-agent panel shows at each end: the dashboard variable's default.</summary>
    public const int DefaultTopN = 10;

    /// <summary>The refresh the real-time dashboards ask for: Grafana's default shortest ([dashboards] min_refresh_interval).</summary>
    public const string NowRefresh = "5s";

    private const string Fleet = "namespace=~\"$namespace\"";
    private const string One = "namespace=\"$namespace\", agent=\"$agent\", pod=~\"$pod\"";
    private const string RateWindow = "$__rate_interval";
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

    /// <summary>
    /// The fleet in real time. Every panel reads recorded series: the fleet totals of
    /// <see cref="RuleRenderer.Now"/> (a few series per namespace, fresh every 5 s) or the standing
    /// per-agent series, of which a panel draws only the top and bottom <c>$topn</c> agents.
    /// </summary>
    public static JsonObject FleetOverview()
    {
        var layout = new Layout();
        string Total(int i, string extra = "") => $"{RuleRenderer.NowTotals[i].Record}{{{Join(extra, Fleet)}}}";
        var tasks = Total(0);
        var perAgentP99 = $"{RuleRenderer.FleetScored[0].Series}{{threshold=\"\", {Fleet}}}";
        var perAgentCost = $"{RuleRenderer.FleetScored[2].Series}{{threshold=\"\", {Fleet}}}";
        List<JsonObject> panels =
        [
            Stat(layout, 4, "Agent pods reporting", $"sum({RuleRenderer.PodsReporting}{{{Fleet}}}) or vector(0)", "none"),
            Stat(layout, 4, "Alerts firing", $"count({FiringAlerts(Fleet)}) or vector(0)", "none", Steps(("green", null), ("red", 1))),
            Stat(layout, 4, "Tasks per second", $"sum({tasks})", PerSecond(BuiltInMetrics.Tasks)),
            Stat(layout, 4, "Completion rate", $"(sum({Total(0, "outcome=\"success\"")}) or vector(0)) / sum({tasks})", "percentunit",
                Steps(("red", null), ("green", SampleCompletionRate))),
            Stat(layout, 4, "Error rate", $"(sum({Total(0, "outcome=\"failure\"")}) or vector(0)) / sum({tasks})", "percentunit",
                Steps(("green", null), ("red", SampleErrorRate))),
            Stat(layout, 4, "Cost per task", $"sum({Total(2)}) / sum({Total(3)})", Unit(BuiltInMetrics.TaskCost)),
            Fresh(Series(layout, 12, "Response time p50 / p90 / p99", "s",
                [.. new[] { ("0.5", "p50", "A"), ("0.9", "p90", "B"), ("0.99", "p99", "C") }.Select(q =>
                    Target($"histogram_quantile({q.Item1}, sum by (le) ({Total(1)}))", q.Item2, q.Item3))])),
            TopAndBottom(layout, "Response time p99: the $topn slowest and fastest agents, outliers thick and red", "s", perAgentP99, highestFirst: true),
            Fresh(Series(layout, 12, "Task outcomes per second", PerSecond(BuiltInMetrics.Tasks), [Target($"sum by (outcome) ({tasks})", "{{outcome}}")])),
            Fresh(Series(layout, 12, "Errors and timeouts per second", PerSecond(BuiltInMetrics.Errors),
                [
                    Target($"sum by (error_type) ({Total(4)})", "error: {{error_type}}"),
                    Target($"sum({Total(0, "outcome=\"timeout\"")})", "timeouts", "B"),
                ])),
            Fresh(Series(layout, 12, "Tokens per second", PerSecond(BuiltInMetrics.TaskTokens), [Target($"sum by (gen_ai_token_type) ({Total(5)})", "{{gen_ai_token_type}}")])),
            TopAndBottom(layout, "Cost per task: the $topn costliest and cheapest agents, outliers thick and red", Unit(BuiltInMetrics.TaskCost), perAgentCost, highestFirst: true),
            Fresh(Series(layout, 12, "Handoffs and escalations per second", "suffix: /s",
                [
                    Target($"sum by (outcome) ({Total(6)})", "handoff {{outcome}}"),
                    Target($"sum by (reason) ({Total(7)})", "escalation {{reason}}", "B"),
                ])),
            OutlierScores(layout),
            AnomalyTable(layout),
        ];
        return Dashboard(
            "agent-metrics-fleet", "Agent fleet overview", NowRefresh, "now-15m", FiringAlerts(Fleet), panels,
            [DatasourceVariable(), QueryVariable("namespace", $"label_values({RuleRenderer.PodsReporting}, namespace)", all: true), TopNVariable()]);
    }

    /// <summary>
    /// One agent (or one of its pods) in detail: its own raw series, so every panel is current to the last
    /// scrape; its anomaly thresholds' bands; the same metrics split by agent_version, for a rollout; and
    /// the CPU and memory of its containers from cAdvisor.
    /// </summary>
    public static JsonObject AgentDetail()
    {
        var layout = new Layout();
        var duration = BuiltInMetrics.TaskDuration.Name + "_bucket";
        var container = "namespace=\"$namespace\", pod=~\"$pod\", container!=\"\", container!=\"POD\"";
        var tasks = $"{BuiltInMetrics.Tasks.Name}_total";
        List<JsonObject> panels =
        [
            Stat(layout, 6, "Tasks per second", $"sum(rate({tasks}{{{One}}}[{RateWindow}]))", PerSecond(BuiltInMetrics.Tasks)),
            Stat(layout, 6, "Completion rate", Ratio("success", One, ""), "percentunit", Steps(("red", null), ("green", SampleCompletionRate))),
            Stat(layout, 6, "In flight", $"sum({BuiltInMetrics.TasksInFlight.Name}{{{One}}})", Unit(BuiltInMetrics.TasksInFlight)),
            Stat(layout, 6, "Queue depth", $"sum({BuiltInMetrics.QueueDepth.Name}{{{One}}})", Unit(BuiltInMetrics.QueueDepth)),
            Series(layout, 12, "Response time p50 / p90 / p99", "s", Quantiles(duration, One, "", "")),
            Series(layout, 12, "Tasks by outcome", PerSecond(BuiltInMetrics.Tasks), [Target($"sum by (outcome) (rate({tasks}{{{One}}}[{RateWindow}]))", "{{outcome}}")]),
            Series(layout, 12, "LLM call duration p99 by model", "s",
                [Target($"histogram_quantile(0.99, sum by (gen_ai_request_model, le) (rate({BuiltInMetrics.OperationDuration.Name}_bucket{{{One}}}[{RateWindow}])))", "{{gen_ai_request_model}}")]),
            Series(layout, 12, "Errors by type", PerSecond(BuiltInMetrics.Errors), [Target($"sum by (error_type) (rate({BuiltInMetrics.Errors.Name}_total{{{One}}}[{RateWindow}]))", "{{error_type}}")]),
            Series(layout, 12, "Tokens per second", PerSecond(BuiltInMetrics.TaskTokens),
                [Target($"sum by (gen_ai_token_type) (rate({BuiltInMetrics.TaskTokens.Name}_total{{{One}}}[{RateWindow}]))", "{{gen_ai_token_type}}")]),
            Series(layout, 12, "Cost per task", Unit(BuiltInMetrics.TaskCost), [Target(CostPerTask(One, ""), "cost per task")]),
            AnomalyBand(layout),
            Row(layout, "Rollout: the same agent by agent_version"),
            Series(layout, 12, "Response time p99 by version", "s",
                [Target($"histogram_quantile(0.99, sum by (agent_version, le) (rate({duration}{{{One}}}[{RateWindow}])))", "{{agent_version}}")]),
            Series(layout, 12, "Error rate by version", "percentunit", [Target(Ratio("failure", One, "agent_version"), "{{agent_version}}")]),
            Series(layout, 12, "Cost per task by version", Unit(BuiltInMetrics.TaskCost), [Target(CostPerTask(One, "agent_version"), "{{agent_version}}")]),
            Series(layout, 12, "Tasks per second by version (the traffic split)", PerSecond(BuiltInMetrics.Tasks),
                [Target($"sum by (agent_version) (rate({tasks}{{{One}}}[{RateWindow}]))", "{{agent_version}}")]),
            Row(layout, "Containers"),
            Series(layout, 12, "CPU by container", "percentunit",
                [Target($"sum by (container) (rate(container_cpu_usage_seconds_total{{{container}}}[{RateWindow}]))", "{{container}}")]),
            Series(layout, 12, "Memory by container (working set)", "bytes",
                [Target($"sum by (container) (container_memory_working_set_bytes{{{container}}})", "{{container}}")]),
        ];
        return Dashboard(
            "agent-metrics-agent", "Agent detail", NowRefresh, "now-1h", FiringAlerts("namespace=\"$namespace\", agent=\"$agent\""), panels,
            [
                DatasourceVariable(),
                QueryVariable("namespace", $"label_values({RuleRenderer.PodsReporting}, namespace)", all: false),
                QueryVariable("agent", "label_values(agent_metrics_sidecar_series{namespace=\"$namespace\"}, agent)", all: false),
                // No allValue: "All" is then the regex of the agent's own pods, where ".*" would be every pod of the
                // namespace, and the container panels (cAdvisor series carry no agent label) would sum the namespace's.
                QueryVariable("pod", "label_values(agent_metrics_sidecar_series{namespace=\"$namespace\", agent=\"$agent\"}, pod)", all: true, anyValue: false),
                QueryVariable("anomaly", $"label_values({BandSeries("upper", "namespace=\"$namespace\", agent=\"$agent\"")}, threshold)", all: true, hide: true),
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
            Series(layout, 12, "Cost per task trend, and in 7 days", Unit(BuiltInMetrics.TaskCost),
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
                CustomUid(@namespace, page), $"Custom agent metrics: {@namespace}{suffix}", NowRefresh, "now-1h",
                FiringAlerts($"namespace={PromQl.String(@namespace)}, agent=~\"$agent\""), panels,
                [DatasourceVariable(), QueryVariable("agent", $"label_values(agent_metrics_sidecar_series{{namespace=\"{@namespace}\"}}, agent)", all: true), TopNVariable()]);
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
        var unit = GrafanaUnit(metric.Unit, perSecond: false);
        var type = metric.ParsedType ?? MetricType.Gauge;
        var panelType = definition.Spec.Dashboard?.Panel ?? (type == MetricType.Histogram ? "heatmap" : "timeseries");
        var buckets = $"{metric.Name}_bucket{{{scope}}}";
        if (type == MetricType.Histogram && panelType == "heatmap")
        {
            // Observations per second in each bucket: a rate over Grafana's rate interval neither over-counts
            // (as an increase over a window longer than the step does) nor leaves gaps when zoomed out.
            var target = Target($"sum by (le) (rate({buckets}[{RateWindow}]))", "{{le}}");
            target["format"] = "heatmap";
            var heatmap = Panel(layout, 12, 8, "heatmap", title, "suffix: /s", new JsonArray(target));
            heatmap["options"] = new JsonObject
            {
                ["calculate"] = false,
                ["yAxis"] = new JsonObject { ["unit"] = unit },
                ["color"] = new JsonObject { ["scheme"] = "Oranges", ["mode"] = "scheme" },
                ["cellValues"] = new JsonObject { ["unit"] = "suffix: /s" },
            };
            return heatmap;
        }

        if (type == MetricType.Histogram)
        {
            return panelType == "timeseries"
                ? Series(layout, 12, title, unit, Quantiles($"{metric.Name}_bucket", scope, "", ""))
                : Panel(layout, 6, 8, panelType, title, unit, new JsonArray(Target($"histogram_quantile(0.99, sum by (le) (rate({buckets}[{RateWindow}])))", "p99")));
        }

        var (perAgent, shownUnit) = type == MetricType.Counter
            ? ($"sum by (agent) (rate({PromQl.BareName(metric.Name, MetricType.Counter)}_total{{{scope}}}[{RateWindow}]))", GrafanaUnit(metric.Unit, perSecond: true))
            : ($"max by (agent) ({metric.Name}{{{scope}}})", unit);
        return panelType == "timeseries"
            ? TopAndBottom(layout, title, shownUnit, perAgent, highestFirst: true, by: "agent")
            : Panel(layout, 6, 8, panelType, title, shownUnit, new JsonArray(Target(
                $"{perAgent} and on (agent) topk($topn, {AtEnd(perAgent)})", "{{agent}}")));
    }

    /// <summary>p50, p90 and p99 of a histogram's buckets, one target each, grouped by <paramref name="by"/> (empty, or labels ending in ", ").</summary>
    private static JsonObject[] Quantiles(string buckets, string selector, string by, string legend) =>
        [.. new[] { ("0.5", "p50", "A"), ("0.9", "p90", "B"), ("0.99", "p99", "C") }.Select(q => Target(
            $"histogram_quantile({q.Item1}, sum by ({by}le) (rate({buckets}{{{selector}}}[{RateWindow}])))", $"{legend}{q.Item2}", q.Item3))];

    private static string Ratio(string outcome, string selector, string by)
    {
        var group = by.Length == 0 ? "" : $" by ({by})";
        var tasks = $"{BuiltInMetrics.Tasks.Name}_total";
        return $"(sum{group} (rate({tasks}{{outcome=\"{outcome}\", {selector}}}[{RateWindow}])) or sum{group} (rate({tasks}{{{selector}}}[{RateWindow}])) * 0)"
            + $" / sum{group} (rate({tasks}{{{selector}}}[{RateWindow}]))";
    }

    private static string CostPerTask(string selector, string by)
    {
        var group = by.Length == 0 ? "" : $" by ({by})";
        var cost = BuiltInMetrics.TaskCost.Name;
        return $"sum{group} (rate({cost}_sum{{{selector}}}[{RateWindow}])) / sum{group} (rate({cost}_count{{{selector}}}[{RateWindow}]))";
    }

    /// <summary>
    /// One line per agent, but only the <c>$topn</c> highest and lowest by the value at the end of the range
    /// (chosen once, with <c>@ end()</c>, so the lines do not change from step to step), and, thick and red,
    /// those whose fleet outlier score (when <paramref name="by"/> is the fleet's) lies beyond 2.
    /// <paramref name="series"/> is a per-agent expression grouped by <paramref name="by"/>.
    /// </summary>
    private static JsonObject TopAndBottom(Layout layout, string title, string unit, string series, bool highestFirst, string by = PromQl.PerAgent)
    {
        var atEnd = AtEnd(series);
        var legend = string.Join("/", by.Split(", ").Select(l => $"{{{{{l}}}}}"));
        var (first, second) = highestFirst ? ("topk", "bottomk") : ("bottomk", "topk");
        List<JsonObject> targets =
        [
            Target($"{series} and on ({by}) {first}($topn, {atEnd})", legend),
            Target($"{series} and on ({by}) {second}($topn, {atEnd})", $"{legend} (other end)", "B"),
        ];
        List<JsonObject> overrides = [Dashed("B")];
        var scored = RuleRenderer.FleetScored.FirstOrDefault(f => series.StartsWith(f.Series + "{", StringComparison.Ordinal));
        if (scored is not null)
        {
            targets.Add(Target(
                $"{series} and on ({by}) (topk($topn, abs({RuleRenderer.FleetZScore(scored.Series)}{{{Fleet}}} @ end())) > {RuleRenderer.FleetOutlierLimit})", $"outlier {legend}", "C"));
            overrides.Add(Outliers("C"));
        }

        var panel = Series(layout, 12, title, unit, [.. targets], [.. overrides]);
        if (by == PromQl.PerAgent)
        {
            // The standing per-agent series change every 30 s; a shorter step would only repeat them.
            panel["interval"] = RuleRenderer.DefaultInterval;
        }

        return panel;
    }

    /// <summary>
    /// <paramref name="series"/> evaluated at the end of the range: <c>@ end()</c> on its range (a rate over
    /// the rate interval) or, when it has none, on its one selector.
    /// </summary>
    private static string AtEnd(string series) =>
        series.Contains($"[{RateWindow}]", StringComparison.Ordinal)
            ? series.Replace($"[{RateWindow}]", $"[{RateWindow}] @ end()", StringComparison.Ordinal)
            : series.Replace("}", "} @ end()", StringComparison.Ordinal);

    /// <summary>Every agent's fleet outlier scores, as the largest of them, for the agents furthest out.</summary>
    // abs() drops the series' names, so each score keeps its own in a label first: without one, an agent's
    // three scores would be three series of one label set, which Prometheus refuses.
    private static string LargestScore(bool atEnd) =>
        $"max by (namespace, agent) (abs(label_replace({{__name__=~\"namespace_agent:.+:fleet_zscore\", {Fleet}}}{(atEnd ? " @ end()" : "")}, \"score\", \"$1\", \"__name__\", \"(.+)\")))";

    /// <summary>The <c>$topn</c> agents that stand furthest from their namespace's fleet, by their largest score, with the lines the table colours at.</summary>
    private static JsonObject OutlierScores(Layout layout)
    {
        var panel = Series(layout, 12, "Fleet outlier score: the $topn agents furthest from their namespace's fleet (largest |z|)", "none",
            [Target($"{LargestScore(false)} and on (namespace, agent) topk($topn, {LargestScore(true)})", "{{namespace}}/{{agent}}")]);
        panel["interval"] = RuleRenderer.DefaultInterval;
        panel["fieldConfig"]!["defaults"]!["thresholds"] = OutlierSteps();
        panel["fieldConfig"]!["defaults"]!["custom"] = new JsonObject { ["thresholdsStyle"] = new JsonObject { ["mode"] = "dashed+area" } };
        return panel;
    }

    private static JsonObject OutlierSteps() => Steps(("green", null), ("orange", 2), ("red", 3));

    /// <summary>
    /// The agents furthest from their namespace's fleet, <c>$topn</c> of them, with each z-score, largest first,
    /// coloured from 2 and 3. Instant queries: a table shows one row per agent, now.
    /// </summary>
    private static JsonObject AnomalyTable(Layout layout)
    {
        var targets = new JsonArray();
        var refs = new[] { "A", "B", "C" };
        var titles = new[] { "p99 response time (z)", "error rate (z)", "cost per task (z)" };
        var top = $"topk($topn, {LargestScore(false)})";
        for (var i = 0; i < RuleRenderer.FleetScored.Count; i++)
        {
            targets.Add((JsonNode)Instant(Target($"{RuleRenderer.FleetZScore(RuleRenderer.FleetScored[i].Series)}{{{Fleet}}} and on (namespace, agent) {top}", titles[i], refs[i])));
        }

        targets.Add((JsonNode)Instant(Target(top, "largest |z|", "D")));
        var panel = Panel(layout, 24, 8, "table", "Anomalies: the $topn agents furthest from their namespace's fleet, in standard deviations", "none", targets);
        panel["fieldConfig"]!["defaults"]!["thresholds"] = OutlierSteps();
        panel["fieldConfig"]!["defaults"]!["decimals"] = 1;
        panel["fieldConfig"]!["defaults"]!["custom"] = new JsonObject
        {
            ["cellOptions"] = new JsonObject { ["type"] = "color-background" },
            ["filterable"] = true,
        };
        panel["options"] = new JsonObject { ["showHeader"] = true, ["sortBy"] = new JsonArray(new JsonObject { ["displayName"] = "largest |z|", ["desc"] = true }) };
        panel["transformations"] = new JsonArray(
            new JsonObject { ["id"] = "merge", ["options"] = new JsonObject() },
            new JsonObject
            {
                ["id"] = "organize",
                ["options"] = new JsonObject
                {
                    ["excludeByName"] = new JsonObject { ["Time"] = true },
                    ["renameByName"] = new JsonObject { ["Value #A"] = titles[0], ["Value #B"] = titles[1], ["Value #C"] = titles[2], ["Value #D"] = "largest |z|" },
                },
            },
            new JsonObject
            {
                ["id"] = "sortBy",
                ["options"] = new JsonObject { ["sort"] = new JsonArray(new JsonObject { ["field"] = "largest |z|", ["desc"] = true }) },
            });
        return panel;
    }

    /// <summary>A series of an anomaly threshold's band, for the agent shown.</summary>
    private static string BandSeries(string edge, string selector) =>
        $"{{__name__=~\"namespace_agent:.+:baseline_{edge}_.+\", {selector}}}";

    /// <summary>
    /// One panel per anomaly threshold of the agent (repeated over the hidden variable anomaly): the
    /// statistic the threshold judges, between its baseline ± the deviations beyond which it alerts.
    /// </summary>
    private static JsonObject AnomalyBand(Layout layout)
    {
        const string Mine = "namespace=\"$namespace\", agent=\"$agent\", threshold=~\"$anomaly\"";
        var panel = Series(layout, 12, "Anomaly threshold $anomaly: the value against its baseline band", "short",
            [
                // The threshold's own statistic: its only recorded series of the level:metric:operation form.
                Target($"{{__name__=~\"namespace_agent:[^:]+:[^:]+\", {Mine}}}", "value"),
                Target(BandSeries("upper", Mine), "upper", "B"),
                Target(BandSeries("lower", Mine), "lower", "C"),
            ],
            [
                new JsonObject
                {
                    ["matcher"] = new JsonObject { ["id"] = "byFrameRefID", ["options"] = "B" },
                    ["properties"] = new JsonArray(
                        new JsonObject { ["id"] = "custom.fillBelowTo", ["value"] = "lower" },
                        new JsonObject { ["id"] = "color", ["value"] = new JsonObject { ["mode"] = "fixed", ["fixedColor"] = "green" } }),
                },
                new JsonObject
                {
                    ["matcher"] = new JsonObject { ["id"] = "byFrameRefID", ["options"] = "C" },
                    ["properties"] = new JsonArray(new JsonObject { ["id"] = "color", ["value"] = new JsonObject { ["mode"] = "fixed", ["fixedColor"] = "green" } }),
                },
            ]);
        panel["repeat"] = "anomaly";
        panel["repeatDirection"] = "h";
        panel["maxPerRow"] = 2;
        return panel;
    }

    /// <summary>
    /// The firing alerts of agent-metrics' own thresholds (every one carries a threshold label) for the
    /// agents <paramref name="agents"/> selects, so a dashboard never shows another system's alerts, or
    /// another namespace's or agent's.
    /// </summary>
    public static string FiringAlerts(string agents) => $"ALERTS{{alertstate=\"firing\", threshold!=\"\", {agents}}}";

    private static JsonObject Dashboard(string uid, string title, string refresh, string from, string alerts, List<JsonObject> panels, JsonNode[] variables) => new()
    {
        ["uid"] = uid,
        ["title"] = title,
        ["tags"] = new JsonArray("agent-metrics"),
        ["editable"] = true,
        ["graphTooltip"] = 1,
        ["timezone"] = "browser",
        ["refresh"] = refresh,
        ["time"] = new JsonObject { ["from"] = from, ["to"] = "now" },
        // 1s is offered for a Grafana whose [dashboards] min_refresh_interval allows it; a default one stops at 5s.
        ["timepicker"] = new JsonObject { ["refresh_intervals"] = new JsonArray("1s", "5s", "10s", "30s", "1m", "5m", "15m", "1h") },
        ["schemaVersion"] = SchemaVersion,
        ["version"] = 1,
        ["templating"] = new JsonObject { ["list"] = new JsonArray(variables) },
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

    private static JsonObject Stat(Layout layout, int width, string title, string expr, string unit, JsonObject? steps = null)
    {
        var panel = Panel(layout, width, 4, "stat", title, unit, new JsonArray(Target(expr, title)));
        if (steps is not null)
        {
            panel["fieldConfig"]!["defaults"]!["thresholds"] = steps;
        }

        panel["options"] = new JsonObject { ["colorMode"] = "value", ["graphMode"] = "area", ["reduceOptions"] = new JsonObject { ["calcs"] = new JsonArray("lastNotNull") } };
        return Fresh(panel);
    }

    /// <summary>Asks for a step no shorter than the fleet totals' interval: a point per new value.</summary>
    private static JsonObject Fresh(JsonObject panel)
    {
        panel["interval"] = RuleRenderer.NowInterval;
        return panel;
    }

    /// <summary>A row heading; the panels after it, up to the next row, sit under it.</summary>
    private static JsonObject Row(Layout layout, string title) => new()
    {
        ["id"] = layout.NextId(),
        ["type"] = "row",
        ["title"] = title,
        ["collapsed"] = false,
        ["gridPos"] = layout.Place(24, 1),
        ["panels"] = new JsonArray(),
    };

    private static JsonObject Instant(JsonObject target)
    {
        target["format"] = "table";
        target["instant"] = true;
        target["range"] = false;
        return target;
    }

    /// <summary>The Grafana unit of a catalog unit (seconds, dollars, bytes, ratio, or a count of things), per second for a rate.</summary>
    public static string GrafanaUnit(string? unit, bool perSecond) => (unit, perSecond) switch
    {
        ("seconds", false) => "s",
        ("bytes", false) => "bytes",
        ("bytes", true) => "Bps",
        ("dollars", false) => "currencyUSD",
        ("ratio", false) => "percentunit",
        (null or "" or "1", false) => "short",
        (null or "" or "1", true) => "suffix: /s",
        (_, true) => $"suffix: {unit}/s",
        _ => $"suffix: {unit}",
    };

    private static string Unit(MetricSpec metric) => GrafanaUnit(metric.Unit, perSecond: false);

    private static string PerSecond(MetricSpec metric) => GrafanaUnit(metric.Unit, perSecond: true);

    private static string Join(params string[] matchers) => string.Join(", ", matchers.Where(m => m.Length > 0));

    /// <summary>The completion rate config/samples' threshold pages below (alertthreshold-completion-rate.yaml): the stat turns red there.</summary>
    public const double SampleCompletionRate = 0.9;

    /// <summary>The error rate config/samples' threshold pages above (alertthreshold-error-rate.yaml): the stat turns red there.</summary>
    public const double SampleErrorRate = 0.05;

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
    };

    private static JsonObject QueryVariable(string name, string query, bool all, bool hide = false, bool anyValue = true)
    {
        var variable = new JsonObject
        {
            ["name"] = name,
            ["type"] = "query",
            ["datasource"] = Datasource.DeepClone(),
            ["query"] = new JsonObject { ["query"] = query, ["refId"] = "PrometheusVariableQueryEditor-VariableQuery" },
            ["refresh"] = 2,
            ["sort"] = 1,
            ["multi"] = all,
            ["includeAll"] = all,
        };
        if (all && anyValue)
        {
            variable["allValue"] = ".*";
        }

        if (hide)
        {
            variable["hide"] = 2;
            variable["current"] = new JsonObject { ["text"] = "All", ["value"] = "$__all" };
        }

        return variable;
    }

    /// <summary>How many agents a per-agent panel draws at each end (and the anomaly table lists).</summary>
    private static JsonObject TopNVariable()
    {
        var choices = new[] { 5, DefaultTopN, 20, 50 };
        return new JsonObject
        {
            ["name"] = "topn",
            ["label"] = "Agents at each end",
            ["type"] = "custom",
            ["query"] = string.Join(",", choices),
            ["current"] = new JsonObject { ["text"] = $"{DefaultTopN}", ["value"] = $"{DefaultTopN}" },
            ["options"] = new JsonArray([.. choices.Select(c => (JsonNode)new JsonObject
            {
                ["text"] = $"{c}",
                ["value"] = $"{c}",
                ["selected"] = c == DefaultTopN,
            })]),
            ["multi"] = false,
            ["includeAll"] = false,
            ["hide"] = 0,
        };
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
