using AgentMetrics.Rendering;

namespace AgentMetrics.Cli.Reports;

/// <summary>
/// Turns two sides' figures into ranked rows. Ranking: regressions first, the largest first (a row's size
/// is its judged column that got most worse, as a relative change); then improvements, the largest first;
/// then steady rows, new ones and gone ones. Anomalies: comparing periods, an agent whose change in a
/// judged column has a robust z-score beyond <see cref="AnomalyZScore"/> against the changes of its
/// namespace's agents (median and scaled median absolute deviation, from <see cref="RuleRenderer.MinimumFleet"/>
/// agents, as the dashboards' fleet outlier score); comparing versions, a version worse than its agent's
/// baseline version by more than <see cref="VersionAnomaly"/> in a judged column.
/// </summary>
public static class ReportBuilder
{
    /// <summary>The relative change below which a judged figure counts as unchanged.</summary>
    public const double Steady = 0.05;

    /// <summary>The robust z-score beyond which an agent's change is anomalous against its fleet's.</summary>
    public const double AnomalyZScore = 3;

    /// <summary>The smallest spread of a fleet's changes: a tenth, so a fleet that did not move does not make a hair's change anomalous.</summary>
    public const double SpreadFloor = 0.1;

    /// <summary>How much worse than its baseline version a version must be, in a judged column, to be anomalous.</summary>
    public const double VersionAnomaly = 0.5;

    /// <summary>The namespace rows and the agent (or version) rows, each ranked, with anomalies noted.</summary>
    public static (List<ReportRow> Namespaces, List<ReportRow> Agents) Build(
        ReportRequest request, IReadOnlyDictionary<RowKey, Figures> current, IReadOnlyDictionary<RowKey, Figures> baseline) =>
        request.ByVersion ? ([], Rank(Versions(current))) : (Rank(Periods(current, baseline, namespaces: true)), Rank(Noted(Periods(current, baseline, namespaces: false))));

    private static List<ReportRow> Periods(IReadOnlyDictionary<RowKey, Figures> current, IReadOnlyDictionary<RowKey, Figures> baseline, bool namespaces) =>
        [.. current.Keys.Union(baseline.Keys)
            .Where(k => (k.Agent.Length == 0) == namespaces)
            .Select(k => new ReportRow(k, "", current.GetValueOrDefault(k), baseline.GetValueOrDefault(k)))];

    // Each agent's versions against the one that served most of its tasks (ties: the first by name); agents with one version are left out.
    private static List<ReportRow> Versions(IReadOnlyDictionary<RowKey, Figures> current)
    {
        var rows = new List<ReportRow>();
        foreach (var agent in current.Where(p => p.Key.Agent.Length > 0 && p.Value.Tasks > 0).GroupBy(p => p.Key with { Version = "" }))
        {
            var versions = agent.OrderByDescending(p => p.Value.Tasks).ThenBy(p => p.Key.Version, StringComparer.Ordinal).ToList();
            if (versions.Count < 2)
            {
                continue;
            }

            var baseline = versions[0];
            foreach (var version in versions.Skip(1))
            {
                var row = new ReportRow(version.Key, baseline.Key.Version, version.Value, baseline.Value);
                row.Anomalies.AddRange(row.Judged().Where(j => j.Score > VersionAnomaly)
                    .Select(j => new Anomaly(j.Column.Key, row.Changes[j.Column.Key]!.Value, null, "worse than the baseline version")));
                rows.Add(row);
            }
        }

        return rows;
    }

    private static List<ReportRow> Noted(List<ReportRow> rows)
    {
        foreach (var fleet in rows.GroupBy(r => r.Key.Namespace))
        {
            foreach (var column in ReportColumn.All.Where(c => c.Worse != 0))
            {
                var changed = fleet.Where(r => r.Changes[column.Key] is not null).ToList();
                if (changed.Count < RuleRenderer.MinimumFleet)
                {
                    continue;
                }

                var values = changed.Select(r => r.Changes[column.Key]!.Value).ToList();
                var median = Median(values);
                var mad = Median([.. values.Select(v => Math.Abs(v - median))]);
                var spread = Math.Max(RuleRenderer.MadToStandardDeviation * mad, Math.Max(RuleRenderer.RelativeFloor * Math.Abs(median), SpreadFloor));
                foreach (var row in changed)
                {
                    var change = row.Changes[column.Key]!.Value;
                    var z = (change - median) / spread;
                    if (Math.Abs(z) > AnomalyZScore)
                    {
                        row.Anomalies.Add(new Anomaly(column.Key, change, z, column.Worse * z > 0 ? "worse than the fleet" : "better than the fleet"));
                    }
                }
            }
        }

        return rows;
    }

    private static List<ReportRow> Rank(List<ReportRow> rows) =>
    [
        .. rows.OrderBy(r => r.Verdict switch
            {
                Verdict.Regression => 0,
                Verdict.Improvement => 1,
                Verdict.Steady => 2,
                Verdict.New => 3,
                _ => 4,
            })
            .ThenByDescending(r => r.Verdict switch
            {
                Verdict.Regression => r.Worst!.Value.Score,
                Verdict.Improvement => -r.Best!.Value.Score,
                _ => r.Current?.Tasks ?? r.Baseline?.Tasks ?? 0,
            })
            .ThenBy(r => r.Key.Namespace, StringComparer.Ordinal)
            .ThenBy(r => r.Key.Agent, StringComparer.Ordinal)
            .ThenBy(r => r.Key.Version, StringComparer.Ordinal),
    ];

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
