namespace AgentMetrics.Cli.Reports;

/// <summary>A figure far out of line: its column, its change and, against a fleet, the robust z-score of that change.</summary>
public sealed record Anomaly(string Column, double Change, double? ZScore, string Direction)
{
    /// <summary>How a person reads it: "error_ratio +400% (z 40.0, worse)".</summary>
    public override string ToString() =>
        ZScore is { } z ? $"{Column} {ReportFormat.Percent(Change)} (z {ReportFormat.Number(z, "0.0")}, {Direction})" : $"{Column} {ReportFormat.Percent(Change)} ({Direction})";
}

/// <summary>Whether a row got worse, better, stayed put, or cannot be compared.</summary>
public enum Verdict
{
    /// <summary>A judged figure got worse by at least <see cref="ReportBuilder.Steady"/>.</summary>
    Regression,

    /// <summary>No judged figure got worse by that much, and one got better by at least that much.</summary>
    Improvement,

    /// <summary>Every judged figure within <see cref="ReportBuilder.Steady"/> of its baseline.</summary>
    Steady,

    /// <summary>Tasks now, none in the baseline.</summary>
    New,

    /// <summary>Tasks in the baseline, none now.</summary>
    Gone,
}

/// <summary>One row of the report: who, the figures of both sides, the changes, the verdict and what is anomalous.</summary>
public sealed record ReportRow(RowKey Key, string BaselineVersion, Figures? Current, Figures? Baseline)
{
    /// <summary>Each column's relative change, by key; null when a side lacks the figure.</summary>
    public IReadOnlyDictionary<string, double?> Changes { get; } =
        ReportColumn.All.ToDictionary(c => c.Key, c => c.Change(Current, Baseline), StringComparer.Ordinal);

    /// <summary>The judged column that got most worse, and by how much (positive is worse); null when nothing compares.</summary>
    public (ReportColumn Column, double Score)? Worst => Judged().OrderByDescending(j => j.Score).Cast<(ReportColumn, double)?>().FirstOrDefault();

    /// <summary>The judged column that got most better, and by how much (negative is better).</summary>
    public (ReportColumn Column, double Score)? Best => Judged().OrderBy(j => j.Score).Cast<(ReportColumn, double)?>().FirstOrDefault();

    /// <summary>The verdict, from <see cref="Worst"/> and <see cref="Best"/>.</summary>
    public Verdict Verdict =>
        (Current?.Tasks ?? 0) <= 0 ? Verdict.Gone
        : (Baseline?.Tasks ?? 0) <= 0 ? Verdict.New
        : Worst is { Score: >= ReportBuilder.Steady } ? Verdict.Regression
        : Best is { Score: <= -ReportBuilder.Steady } ? Verdict.Improvement
        : Verdict.Steady;

    /// <summary>The anomalies noted for this row.</summary>
    public List<Anomaly> Anomalies { get; } = [];

    /// <summary>Each judged column's change, signed so that positive is worse.</summary>
    public IEnumerable<(ReportColumn Column, double Score)> Judged() =>
        ReportColumn.All.Where(c => c.Worse != 0 && Changes[c.Key] is not null).Select(c => (c, c.Worse * Changes[c.Key]!.Value));

    /// <summary>What the verdict column shows: the verdict and, for a change, the column behind it.</summary>
    public string Summary => Verdict switch
    {
        Verdict.Regression => $"regression: {Worst!.Value.Column.Key} {ReportFormat.Percent(Changes[Worst.Value.Column.Key]!.Value)}",
        Verdict.Improvement => $"improvement: {Best!.Value.Column.Key} {ReportFormat.Percent(Changes[Best.Value.Column.Key]!.Value)}",
        _ => Verdict.ToString().ToLowerInvariant(),
    };
}
