namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>Capped exponential backoff with jitter, for reconnecting to an API server that is away.</summary>
public sealed class Backoff(TimeSpan initial, TimeSpan cap)
{
    private int _failures;

    /// <summary>The next delay: initial × 2^failures, capped, with up to ±25% jitter so clients do not reconnect in step.</summary>
    public TimeSpan Next()
    {
        var exponential = initial.TotalMilliseconds * Math.Pow(2, Math.Min(_failures, 30));
        _failures++;
        var capped = Math.Min(exponential, cap.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.75 + (Random.Shared.NextDouble() / 2)));
    }

    /// <summary>Back to the initial delay, after a success.</summary>
    public void Reset() => _failures = 0;
}
