namespace AgentMetrics.Api.Validation;

/// <summary>One problem with a resource: the field (a JSON path such as spec.metric.name) and the rule it breaks.</summary>
public sealed record FieldError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>What validation can see besides the object itself: its namespace's definitions and agent pods.</summary>
public sealed class ValidationContext
{
    /// <summary>At most this many metrics, built-in and defined, may select one agent.</summary>
    public const int MaxMetricsPerAgent = 1000;

    /// <summary>An empty context: checks that need other objects find nothing to conflict with.</summary>
    public static readonly ValidationContext Empty = new();

    /// <summary>The other AgentMetricDefinitions of the namespace (the one validated may be among them; it is skipped).</summary>
    public IReadOnlyList<V1Alpha1.AgentMetricDefinition> Definitions { get; init; } = [];

    /// <summary>The agent pods of the namespace: name and labels.</summary>
    public IReadOnlyList<(string Name, IReadOnlyDictionary<string, string> Labels)> Pods { get; init; } = [];
}
