using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Dashboards.Bench;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;

// Every query of every dashboard against a real Prometheus holding the history of a synthetic fleet:
// the raw series its sidecars deliver (remote write, one pod per agent, a 15 s interval) and the series
// the operator's recording rules record from them (backfilled with promtool over the same hour). For each
// fleet size: wall time p50/p99 and samples read per query, and beside them the unbounded query the
// overview used to draw (p99 by agent from raw buckets), measured in the same run.
//   usage: AgentMetrics.Dashboards.Bench [--agents 50,500,5000] [--repetitions 10] [--minutes 60] --out FILE
var output = Text("--out", "") is { Length: > 0 } o ? o : throw new ArgumentException("--out FILE is required");
var sizes = Text("--agents", "50,500,5000").Split(',').Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray();
var repetitions = int.Parse(Text("--repetitions", "10"), CultureInfo.InvariantCulture);
DashboardQueries.Range = TimeSpan.FromMinutes(int.Parse(Text("--minutes", "60"), CultureInfo.InvariantCulture));

var definitions = Samples<AgentMetricDefinition>("agentmetricdefinition-*.yaml", ApiJsonContext.Default.AgentMetricDefinition);
var thresholds = Samples<AlertThreshold>("alertthreshold-*.yaml", ApiJsonContext.Default.AlertThreshold);
var groups = new List<RuleGroup>(RuleRenderer.BuiltIn());
groups.AddRange(definitions.Select(RuleRenderer.ForDefinition));
groups.AddRange(thresholds.Select(t => RuleRenderer.ForThreshold(t, MetricCatalog.Resolve(t.Spec.Metric, definitions)!)));
var queries = DashboardQueries.Of(Dashboards.All(definitions)).ToList();
// The overview's p99 by agent before it was bounded: one line per agent, from every raw bucket of the fleet.
var baseline = new DashboardQuery("baseline", "p99 by agent, unbounded, from raw buckets", "-",
    "histogram_quantile(0.99, sum by (namespace, agent, le) (rate(agent_task_duration_seconds_bucket{namespace=~\".*\"}[1m])))", TimeSpan.FromSeconds(15));

var report = new StringBuilder();
foreach (var agents in sizes)
{
    Console.WriteLine($"{agents} agents: writing the history");
    await using var prometheus = await PrometheusServer.StartAsync("global:\n  scrape_interval: 15s\n", "--storage.tsdb.retention.time=2d", "--web.enable-admin-api");
    var end = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 15 * 15);
    var clock = Stopwatch.StartNew();
    var fleet = new SyntheticFleet(agents, definitions);
    // Five minutes more than the hour shown, so the first point's windows are full.
    await fleet.WriteAsync(prometheus.RemoteWriteUrl, end - DashboardQueries.Range - TimeSpan.FromMinutes(6), end, TimeSpan.FromSeconds(15));
    await RecordedHistory.PersistHeadAsync(prometheus);
    var written = clock.Elapsed;
    Console.WriteLine($"{agents} agents: {fleet.SeriesCount} series, {fleet.SamplesWritten} samples in {written.TotalSeconds:0} s; recording rules");
    clock.Restart();
    var passes = await RecordedHistory.BackfillAsync(prometheus, groups, end - DashboardQueries.Range - TimeSpan.FromMinutes(1), end);
    var recorded = clock.Elapsed;
    Console.WriteLine($"{agents} agents: rules backfilled in {passes} passes, {recorded.TotalSeconds:0} s; querying");

    using var timer = new QueryTimer(prometheus.Url, end);
    var rows = new List<(DashboardQuery Query, QueryCost Cost)>();
    foreach (var query in queries.Append(baseline))
    {
        rows.Add((query, await timer.MeasureAsync(query.Expr, query.Step, repetitions)));
    }

    report.AppendLine(CultureInfo.InvariantCulture, $"## {agents} agents, the last {DashboardQueries.Format(DashboardQueries.Range)}");
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture,
        $"{fleet.SeriesCount:N0} raw series ({fleet.SeriesCount / agents} per agent), {fleet.SamplesWritten:N0} raw samples written in {written.TotalSeconds:0} s;"
        + $" recording rules backfilled in {passes} passes in {recorded.TotalSeconds:0} s. Prometheus' memory after the queries: {Measure.ResidentMegabytes(prometheus):0} MB.");
    report.AppendLine();
    report.AppendLine("| dashboard | panel | ref | query | p50 ms | p99 ms | samples | series | target |");
    report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var (query, cost) in rows)
    {
        var kind = query.Step is { } s ? $"range, step {DashboardQueries.Format(s)}" : "instant";
        var meets = cost.Error is null && cost.Quantile(0.99) < 500 && cost.Samples < 5_000_000;
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {query.Dashboard} | {Cell(query.Panel)} | {query.RefId} | {kind} | {(cost.Error is null ? $"{cost.Quantile(0.5):0}" : "refused")} | {(cost.Error is null ? $"{cost.Quantile(0.99):0}" : "refused")} | {cost.Samples:N0} | {cost.Series} | {(query.Dashboard == "baseline" ? "baseline" : meets ? "met" : "**missed**")} |");
        if (cost.Error is not null)
        {
            report.AppendLine(CultureInfo.InvariantCulture, $"| | {Cell(cost.Error)} | | | | | | | |");
        }
    }

    var dashboardRows = rows.Where(r => r.Query.Dashboard != "baseline").ToList();
    var slowest = dashboardRows.MaxBy(r => r.Cost.Quantile(0.99));
    var costliest = dashboardRows.MaxBy(r => r.Cost.Samples);
    report.AppendLine();
    report.AppendLine(CultureInfo.InvariantCulture,
        $"{dashboardRows.Count} dashboard queries; slowest p99 {slowest.Cost.Quantile(0.99):0} ms ({slowest.Query.Dashboard}: {Cell(slowest.Query.Panel)} {slowest.Query.RefId}); most samples {costliest.Cost.Samples:N0} ({costliest.Query.Dashboard}: {Cell(costliest.Query.Panel)} {costliest.Query.RefId});"
        + $" {dashboardRows.Count(r => r.Cost.Error is not null || r.Cost.Quantile(0.99) >= 500 || r.Cost.Samples >= 5_000_000)} miss the target (p99 < 500 ms and < 5M samples).");
    report.AppendLine();
    Console.WriteLine($"{agents} agents: done");
    await File.WriteAllTextAsync(output, report.ToString());
}

Console.Write(report);
return 0;

string Text(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;

static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

static List<T> Samples<T>(string pattern, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    where T : AgentMetrics.Kubernetes.Models.IKubernetesObject =>
    [.. Directory.GetFiles(RepoPaths.Combine("config", "samples"), pattern).Order(StringComparer.Ordinal).Select(f =>
    {
        var item = System.Text.Json.JsonSerializer.Deserialize(YamlJson.Parse(File.ReadAllText(f))!, type)!;
        item.Metadata.Namespace = SyntheticFleet.SampleNamespace;
        return item;
    })];
