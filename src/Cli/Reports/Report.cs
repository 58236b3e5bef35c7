using AgentMetrics.Api.Validation;

namespace AgentMetrics.Cli.Reports;

/// <summary>A finished report: what was asked, and the ranked namespace and agent (or version) rows.</summary>
public sealed record Report(ReportRequest Request, IReadOnlyList<ReportRow> Namespaces, IReadOnlyList<ReportRow> Agents)
{
    /// <summary>The current period's start.</summary>
    public DateTimeOffset Start => Request.At - Request.Since;

    /// <summary>The baseline period's end (the current period's end, comparing versions).</summary>
    public DateTimeOffset BaselineEnd => Request.At - Request.BaselineShift;

    /// <summary>The baseline period's start.</summary>
    public DateTimeOffset BaselineStart => BaselineEnd - Request.Since;

    /// <summary>The comparison's name, as the flags spell it.</summary>
    public string Comparison => Request.Comparison switch
    {
        Reports.Comparison.Previous => "previous",
        Reports.Comparison.WeekOverWeek => "week-over-week",
        _ => "agent_version",
    };

    /// <summary>One line saying what is compared with what.</summary>
    public string Title
    {
        get
        {
            var since = PrometheusDuration.Format(Request.Since);
            var current = $"{ReportFormat.Time(Start)} to {ReportFormat.Time(Request.At)}";
            return Request.ByVersion
                ? $"Agent versions over {since}, {current}, each against the version that served most of its agent's tasks"
                : $"{since}, {current}, against {ReportFormat.Time(BaselineStart)} to {ReportFormat.Time(BaselineEnd)} ({Comparison})";
        }
    }
}
