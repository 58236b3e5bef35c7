namespace AgentMetrics.Api.Streaming;

/// <summary>
/// How long a sidecar waits before it connects to the definitions stream again. Without a word from
/// the operator the wait doubles from <see cref="First"/> to <see cref="Max"/>, each jittered by
/// ±20 %, and starts again from <see cref="First"/> after a connection that delivered a snapshot.
/// When the operator answers with Retry-After (it is starting, or has more reconnects waiting than it
/// takes at once) the sidecar comes back when told, spread over the half second after it, and its own
/// doubling does not grow: an operator restart is a crowd of sidecars that should come back as soon as
/// it can take them, not minutes later at the top of their backoff.
/// </summary>
public sealed class ReconnectBackoff(Random? random = null)
{
    /// <summary>The first wait after a failure.</summary>
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest wait without a Retry-After. Kept short because a failed connect to an operator
    /// that is down costs nothing (the Service refuses it) and recovery after the operator is back
    /// takes up to one such wait.
    /// </summary>
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(10);

    /// <summary>A Retry-After longer than this is taken as this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    private readonly Random _random = random ?? Random.Shared;
    private TimeSpan _next = First;

    /// <summary>A connection delivered a snapshot: the next failure starts from <see cref="First"/> again.</summary>
    public void Connected() => _next = First;

    /// <summary>The wait after a failed or ended connection; <paramref name="retryAfter"/> is what the operator said, if anything.</summary>
    public TimeSpan Failed(TimeSpan? retryAfter = null)
    {
        if (retryAfter is { } told && told >= TimeSpan.Zero)
        {
            var capped = told < MaxRetryAfter ? told : MaxRetryAfter;
            return capped + TimeSpan.FromMilliseconds(_random.NextDouble() * 500);
        }

        var wait = _next * (0.8 + (_random.NextDouble() * 0.4));
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Max.Ticks));
        return wait;
    }

    /// <summary>The wait a Retry-After header asks for, in seconds or as an HTTP date; null when absent or unreadable.</summary>
    public static TimeSpan? RetryAfter(System.Net.Http.Headers.RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };
}
