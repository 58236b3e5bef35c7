namespace AgentMetrics.Rendering;

/// <summary>One Prometheus rule: a recording rule (<see cref="Record"/>) or an alerting rule (<see cref="Alert"/>).</summary>
public sealed record Rule(
    string? Record,
    string? Alert,
    string Expr,
    string? For = null,
    IReadOnlyList<KeyValuePair<string, string>>? Labels = null,
    IReadOnlyList<KeyValuePair<string, string>>? Annotations = null);

/// <summary>A rule group: evaluated together, at one interval.</summary>
public sealed record RuleGroup(string Name, string Interval, IReadOnlyList<Rule> Rules);
