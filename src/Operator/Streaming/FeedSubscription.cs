using System.Threading.Channels;

namespace AgentMetrics.Operator.Streaming;

/// <summary>One stream's wake-up call: signals pile up into one, so a burst of changes costs one look.</summary>
public sealed class FeedSubscription : IDisposable
{
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly Action<FeedSubscription> _unsubscribe;

    internal FeedSubscription(Action<FeedSubscription> unsubscribe) => _unsubscribe = unsubscribe;

    /// <summary>Completes when something changed since the last call; pending signals are taken.</summary>
    public async Task ChangedAsync(CancellationToken cancellationToken)
    {
        await _signals.Reader.ReadAsync(cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose() => _unsubscribe(this);

    internal void Signal() => _signals.Writer.TryWrite(true);
}
