namespace AgentMetrics.Api.Validation;

/// <summary>The push interval a sidecar accepts, checked alike by the sidecar and by the operator that injects it.</summary>
public static class PushLimits
{
    /// <summary>The longest push interval; past it a pushed value could not be queryable within the lag target.</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Null when <paramref name="interval"/> is allowed; otherwise the rule, naming <paramref name="flag"/>.</summary>
    public static string? Check(string flag, TimeSpan interval) =>
        interval <= TimeSpan.Zero || interval > MaxInterval
            ? $"{flag} must be more than 0 and at most {PrometheusDuration.Format(MaxInterval)}, got {PrometheusDuration.Format(interval)}"
            : null;
}
