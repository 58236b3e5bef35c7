namespace AgentMetrics.Cli.Commands;

/// <summary>One agent's row: its figures by column key, its largest fleet outlier score and what it scores, and its task rate over the last minutes.</summary>
internal sealed record TopRow(
    string Namespace,
    string Agent,
    IReadOnlyDictionary<string, double> Figures,
    double? Outlier,
    string? OutlierOf,
    IReadOnlyList<double?> TaskRates)
{
    /// <summary>True when the agent stands further from its namespace's fleet than the highlight line.</summary>
    public bool Anomalous => Outlier is { } z && Math.Abs(z) > TopColumn.OutlierScore;
}

/// <summary>What one refresh read: the fleet's totals by name, the rows in order, and how many agents the filters select.</summary>
internal sealed record TopSnapshot(DateTimeOffset At, IReadOnlyDictionary<string, double> Fleet, IReadOnlyList<TopRow> Rows, int Agents);

/// <summary>What <c>top</c> is asked to show: filters, order, and the span of the sparklines.</summary>
internal sealed record TopView(string? Namespace, string? Agent, TopColumn Sort, bool Reversed, TimeSpan History)
{
    /// <summary>The label matchers of the filters.</summary>
    public string Selector => TopQueries.Selector(Namespace, Agent);
}
