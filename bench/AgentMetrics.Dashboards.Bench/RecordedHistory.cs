using System.Globalization;
using System.Text.RegularExpressions;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;

namespace AgentMetrics.Dashboards.Bench;

/// <summary>
/// The recorded series of the history, as the operator's rule files would have recorded them: the very
/// groups it renders (built-in, per definition, per threshold), evaluated at each group's own interval by
/// <c>promtool tsdb create-blocks-from rules</c> against the Prometheus that holds the raw series. A rule
/// that reads another's recorded series (the fleet scores read the per-agent statistics) is evaluated in
/// a later pass, once the blocks of the pass before are loaded: promtool reads only what Prometheus holds.
/// </summary>
public static partial class RecordedHistory
{
    /// <summary>
    /// Makes what remote write put in the head a block, through the admin API's snapshot (which writes the head
    /// as a block), and restarts Prometheus on that block alone. Otherwise the rule blocks, which end where
    /// the history ends, would make Prometheus drop on restart every replayed raw sample older than their end.
    /// </summary>
    public static async Task PersistHeadAsync(PrometheusServer prometheus)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        using var answer = await http.PostAsync(new Uri(prometheus.Url, "/api/v1/admin/tsdb/snapshot"), null);
        var body = await answer.Content.ReadAsStringAsync();
        if (!answer.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Prometheus refused the snapshot: {body}");
        }

        var name = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("data").GetProperty("name").GetString()!;
        await prometheus.StopAsync();
        var data = Path.Combine(prometheus.Directory, "data");
        var snapshot = Path.Combine(data, "snapshots", name);
        foreach (var stale in new[] { "wal", "chunks_head" }.Select(d => Path.Combine(data, d)).Where(Directory.Exists))
        {
            Directory.Delete(stale, recursive: true);
        }

        foreach (var block in Directory.GetDirectories(snapshot))
        {
            Directory.Move(block, Path.Combine(data, Path.GetFileName(block)));
        }

        Directory.Delete(Path.Combine(data, "snapshots"), recursive: true);
        await prometheus.StartAsync(TimeSpan.FromMinutes(10));
    }

    /// <summary>Backfills every recording rule of <paramref name="groups"/> over [<paramref name="from"/>, <paramref name="to"/>]; returns the passes made.</summary>
    public static async Task<int> BackfillAsync(PrometheusServer prometheus, IReadOnlyList<RuleGroup> groups, DateTimeOffset from, DateTimeOffset to)
    {
        var passes = Passes(groups);
        for (var pass = 0; pass < passes.Count; pass++)
        {
            var work = Path.Combine(prometheus.Directory, $"rules-pass-{pass}");
            var blocks = Path.Combine(work, "blocks");
            Directory.CreateDirectory(blocks);
            var file = Path.Combine(work, "rules.yaml");
            await File.WriteAllTextAsync(file, RuleFile.Render(passes[pass]));
            var result = await Command.TryRunAsync(
                Tools.Promtool,
                ["tsdb", "create-blocks-from", "rules", "--quiet", $"--url={prometheus.Url}", $"--output-dir={blocks}",
                    $"--start={from.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}", $"--end={to.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}", file],
                TimeSpan.FromMinutes(60));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"promtool could not backfill the rules of pass {pass}: {result.Stderr}{result.Stdout}");
            }

            // Prometheus takes in blocks moved into its data folder when it starts (it overlaps the head; v2.39+ merges both).
            await prometheus.StopAsync();
            foreach (var block in Directory.GetDirectories(blocks))
            {
                Directory.Move(block, Path.Combine(prometheus.Directory, "data", Path.GetFileName(block)));
            }

            await prometheus.StartAsync(TimeSpan.FromMinutes(10));
        }

        return passes.Count;
    }

    /// <summary>
    /// The recording rules split into passes: a rule goes one pass after the latest rule whose series it
    /// reads. Alerting rules are left out (promtool evaluates none).
    /// </summary>
    public static List<List<RuleGroup>> Passes(IReadOnlyList<RuleGroup> groups)
    {
        var records = groups.SelectMany(g => g.Rules).Where(r => r.Record is not null).Select(r => r.Record!).ToHashSet(StringComparer.Ordinal);
        var level = new Dictionary<string, int>(StringComparer.Ordinal);
        int LevelOf(Rule rule) => Reads(rule.Expr, records).Where(r => r != rule.Record).Select(r => level.GetValueOrDefault(r, -1)).DefaultIfEmpty(-1).Max() + 1;

        // Repeat until stable: rules may read rules of a later group.
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var rule in groups.SelectMany(g => g.Rules).Where(r => r.Record is not null))
            {
                var l = LevelOf(rule);
                if (level.GetValueOrDefault(rule.Record!, -1) < l)
                {
                    level[rule.Record!] = l;
                    changed = true;
                }
            }
        }

        var passes = new List<List<RuleGroup>>();
        for (var pass = 0; pass <= level.Values.DefaultIfEmpty(0).Max(); pass++)
        {
            passes.Add([.. groups
                .Select(g => g with { Name = $"{g.Name}.pass{pass}", Rules = [.. g.Rules.Where(r => r.Record is not null && level[r.Record] == pass)] })
                .Where(g => g.Rules.Count > 0)]);
        }

        return passes;
    }

    private static IEnumerable<string> Reads(string expr, HashSet<string> records) =>
        Name().Matches(expr).Select(m => m.Value).Where(records.Contains);

    [GeneratedRegex(@"[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Name();
}
