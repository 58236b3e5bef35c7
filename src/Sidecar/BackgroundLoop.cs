namespace AgentMetrics.Sidecar;

/// <summary>Work that runs beside the HTTP servers until the sidecar stops: push delivery, the definitions stream.</summary>
public abstract class BackgroundLoop : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _running;

    /// <summary>Starts <see cref="ExecuteAsync"/> on the thread pool.</summary>
    public void Start() => _running ??= Task.Run(() => ExecuteAsync(_stopping.Token));

    /// <summary>Signals the loop to stop and waits for it, at most until <paramref name="cancellationToken"/> fires.</summary>
    public virtual async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_running is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>The loop; returns when <paramref name="stoppingToken"/> fires.</summary>
    protected abstract Task ExecuteAsync(CancellationToken stoppingToken);

    /// <inheritdoc />
    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }
}
