namespace AgentMetrics.Cli.Reports;

/// <summary>How a column's value is written.</summary>
public enum ColumnUnit
{
    /// <summary>A count (tasks, tokens), rounded to a whole number.</summary>
    Count,

    /// <summary>A share of tasks, written as a percentage.</summary>
    Ratio,

    /// <summary>Seconds.</summary>
    Seconds,

    /// <summary>US dollars.</summary>
    Dollars,
}

/// <summary>
/// One figure of the report. <see cref="Worse"/> is +1 when a rise is a regression, -1 when a fall is, 0 when
/// the figure is shown but not judged (volume, total cost, tokens, escalations, hand-offs). A change is
/// relative to the baseline, measured against at least <see cref="Floor"/> so a figure near zero does not
/// make every wobble look enormous.
/// </summary>
public sealed record ReportColumn(string Key, string Header, ColumnUnit Unit, int Worse, double Floor, Func<Figures, double?> Value)
{
    /// <summary>The report's figures, in the order every output shows them.</summary>
    public static IReadOnlyList<ReportColumn> All { get; } =
    [
        new("tasks", "TASKS", ColumnUnit.Count, 0, 1, f => f.Tasks),
        new("completion_ratio", "COMPLETED", ColumnUnit.Ratio, -1, 0.01, f => f.CompletionRatio),
        new("error_ratio", "ERRORS", ColumnUnit.Ratio, +1, 0.01, f => f.ErrorRatio),
        new("p50_seconds", "P50", ColumnUnit.Seconds, +1, 0.001, f => f.P50),
        new("p99_seconds", "P99", ColumnUnit.Seconds, +1, 0.001, f => f.P99),
        new("cost_per_task_dollars", "COST/TASK", ColumnUnit.Dollars, +1, 0.000001, f => f.CostPerTask),
        new("cost_dollars", "COST", ColumnUnit.Dollars, 0, 0.01, f => f.CostSum),
        new("tokens", "TOKENS", ColumnUnit.Count, 0, 1, f => f.Tokens),
        new("escalations", "ESCALATIONS", ColumnUnit.Count, 0, 1, f => f.Escalations),
        new("handoffs", "HANDOFFS", ColumnUnit.Count, 0, 1, f => f.Handoffs),
    ];

    /// <summary>The relative change from <paramref name="baseline"/> to <paramref name="current"/>; null when either is missing.</summary>
    public double? Change(Figures? current, Figures? baseline)
    {
        if (current is null || baseline is null || Value(current) is not { } now || Value(baseline) is not { } before)
        {
            return null;
        }

        return (now - before) / Math.Max(Math.Abs(before), Floor);
    }
}
