namespace AgentMetrics.Cli.Reports;

/// <summary>What a report compares: two periods of one length, or the versions of each agent over one period.</summary>
public enum Comparison
{
    /// <summary>The period against the one just before it.</summary>
    Previous,

    /// <summary>The period against the same period a week earlier.</summary>
    WeekOverWeek,

    /// <summary>Each agent's versions over the period, against the version that served most of its tasks.</summary>
    AgentVersion,
}

/// <summary>The report's parsed flags: which period ends when, what is compared and shown.</summary>
public sealed record ReportRequest(
    TimeSpan Since,
    Comparison Comparison,
    string? Namespace,
    string? Agent,
    string Output,
    DateTimeOffset At)
{
    /// <summary>How far back the baseline period is shifted from the current one (zero for versions, which share the period).</summary>
    public TimeSpan BaselineShift => Comparison switch
    {
        Comparison.Previous => Since,
        Comparison.WeekOverWeek => TimeSpan.FromDays(7),
        _ => TimeSpan.Zero,
    };

    /// <summary>Whether rows are agent versions rather than agents over two periods.</summary>
    public bool ByVersion => Comparison == Comparison.AgentVersion;
}
