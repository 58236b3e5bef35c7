using System.Diagnostics;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>What a reconcile asks for next.</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    /// <summary>Nothing more until the object or one of its children changes.</summary>
    public static ReconcileResult Done => default;

    /// <summary>Run again after <paramref name="delay"/>.</summary>
    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>Tuning for a controller.</summary>
public sealed record ControllerOptions
{
    public int Workers { get; init; } = 2;

    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromMilliseconds(5);

    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Runs a reconcile function for each key of a kind that really changed: its generation, labels,
/// annotations or deletion timestamp, or one of its owned children. A status-only update does
/// not reconcile again. Reconcile gets a key and reads current state itself; an exception means
/// a rate-limited retry.
/// </summary>
public sealed class Controller<T> : IDisposable
    where T : class, IKubernetesObject
{
    private readonly Func<ObjectKey, CancellationToken, Task<ReconcileResult>> _reconcile;
    private readonly ControllerOptions _options;
    private readonly ILogger _logger;
    private readonly List<Func<CancellationToken, Task>> _syncs = [];
    private readonly List<ObjectKey> _startKeys = [];
    private readonly KeyValuePair<string, object?> _tag;
    private Func<InformerEvent<T>, IEnumerable<ObjectKey>>? _primaryKeys;

    /// <summary>Creates a controller over <paramref name="primary"/>; the informers are run by the caller.</summary>
    public Controller(
        string name, Informer<T> primary, Func<ObjectKey, CancellationToken, Task<ReconcileResult>> reconcile,
        ControllerOptions? options = null, ILogger? logger = null)
    {
        Name = name;
        Primary = primary;
        _reconcile = reconcile;
        _options = options ?? new ControllerOptions();
        _logger = logger ?? NullLogger.Instance;
        _tag = new KeyValuePair<string, object?>("controller", name);
        Queue = new WorkQueue<ObjectKey>(name, _options.BackoffBase, _options.BackoffMax);
        RuntimeMetrics.TrackWorkers(name, _options.Workers);
        primary.Subscribe(OnPrimaryChange);
        _syncs.Add(primary.WaitForSyncAsync);
    }

    /// <summary>The controller's name, used in metrics and logs.</summary>
    public string Name { get; }

    /// <summary>The informer of the reconciled kind.</summary>
    public Informer<T> Primary { get; }

    /// <summary>The keys waiting to be reconciled.</summary>
    public WorkQueue<ObjectKey> Queue { get; }

    /// <summary>Reconciles the owner whenever a child it controls changes.</summary>
    public Controller<T> Owns<TChild>(Informer<TChild> children)
        where TChild : class, IKubernetesObject
    {
        children.Subscribe(change =>
        {
            foreach (var obj in new[] { change.Old, change.Object })
            {
                if (obj?.ControllerOwner() is { } owner && owner.Kind == Primary.Type.Kind
                    && owner.ApiVersion == Primary.Type.ApiVersion)
                {
                    Queue.Add(new ObjectKey(obj.Metadata.Namespace, owner.Name));
                }
            }
        });
        _syncs.Add(children.WaitForSyncAsync);
        return this;
    }

    /// <summary>Reconciles the keys <paramref name="map"/> names whenever an object of another kind changes.</summary>
    public Controller<T> Watches<TOther>(Informer<TOther> other, Func<InformerEvent<TOther>, IEnumerable<ObjectKey>> map)
        where TOther : class, IKubernetesObject
    {
        other.Subscribe(change =>
        {
            foreach (var key in map(change))
            {
                Queue.Add(key);
            }
        });
        _syncs.Add(other.WaitForSyncAsync);
        return this;
    }

    /// <summary>Waits for <paramref name="other"/>'s first list before reconciling, as the reconcile reads it; its changes reconcile nothing.</summary>
    public Controller<T> Reads<TOther>(Informer<TOther> other)
        where TOther : class, IKubernetesObject
    {
        _syncs.Add(other.WaitForSyncAsync);
        return this;
    }

    /// <summary>
    /// Reconciles the keys <paramref name="map"/> names for a change of the primary kind, instead of the
    /// changed object's own key: for a reconcile whose key stands for many objects (all of a kind, say).
    /// </summary>
    public Controller<T> MapsPrimary(Func<InformerEvent<T>, IEnumerable<ObjectKey>> map)
    {
        _primaryKeys = map;
        return this;
    }

    /// <summary>Reconciles <paramref name="key"/> each time the controller starts, once the caches have synced, changed or not.</summary>
    public Controller<T> ReconcilesOnStart(ObjectKey key)
    {
        _startKeys.Add(key);
        return this;
    }

    /// <summary>True when the change is one a reconcile must see (not a status-only update).</summary>
    public static bool IsRealChange(T? old, T now)
    {
        if (old is null)
        {
            return true;
        }

        var (before, after) = (old.Metadata, now.Metadata);
        if (before.Generation is null || after.Generation is null)
        {
            // A kind without generation (a ConfigMap, say) has no status-only updates to skip.
            return before.ResourceVersion != after.ResourceVersion;
        }

        return before.Generation != after.Generation
            || before.DeletionTimestamp != after.DeletionTimestamp
            || !SameEntries(before.Labels, after.Labels)
            || !SameEntries(before.Annotations, after.Annotations);
    }

    /// <summary>Waits for every informer's first list, then reconciles with the configured workers until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        foreach (var sync in _syncs)
        {
            await sync(cancellationToken);
        }

        foreach (var key in _startKeys)
        {
            Queue.Add(key);
        }

        var workers = Enumerable.Range(0, _options.Workers).Select(_ => WorkAsync(cancellationToken));
        await Task.WhenAll(workers);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        RuntimeMetrics.UntrackWorkers(Name);
        Queue.Dispose();
    }

    private void OnPrimaryChange(InformerEvent<T> change)
    {
        if (change.Type == Client.WatchEventType.Modified && !IsRealChange(change.Old, change.Object))
        {
            return;
        }

        if (_primaryKeys is null)
        {
            Queue.Add(change.Object.Key());
            return;
        }

        foreach (var key in _primaryKeys(change))
        {
            Queue.Add(key);
        }
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ObjectKey key;
            try
            {
                key = await Queue.TakeAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var clock = Stopwatch.StartNew();
            RuntimeMetrics.WorkerBusy(Name, 1);
            try
            {
                var result = await _reconcile(key, cancellationToken);
                Queue.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    Queue.AddAfter(key, delay);
                }

                RuntimeMetrics.Reconciles.Add(1, _tag, new("result", result.RequeueAfter is null ? "success" : "requeue_after"));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped (leadership lost, or shutdown) mid-reconcile: whoever runs next must see this key.
                Queue.Add(key);
            }
            catch (KubernetesApiException e) when (e.IsNamespaceTerminating)
            {
                // Retrying cannot help: the namespace, and the object with it, is going away.
                Queue.Forget(key);
                RuntimeMetrics.Reconciles.Add(1, _tag, new("result", "error"));
                RuntimeMetrics.ReconcileErrors.Add(1, _tag);
                RuntimeMetrics.TerminalReconcileErrors.Add(1, _tag);
                _logger.LogInformation("{Controller}: {Key} is left alone: its namespace is being deleted ({Message})", Name, key, e.Status.Message);
            }
            catch (Exception e)
            {
                var delay = Queue.AddRateLimited(key);
                RuntimeMetrics.Reconciles.Add(1, _tag, new("result", "error"));
                RuntimeMetrics.ReconcileErrors.Add(1, _tag);
                _logger.LogWarning(e, "{Controller}: reconcile of {Key} failed; retrying in {Delay} ms", Name, key, (int)delay.TotalMilliseconds);
            }
            finally
            {
                RuntimeMetrics.ReconcileDuration.Record(clock.Elapsed.TotalSeconds, _tag);
                RuntimeMetrics.WorkerBusy(Name, -1);
                Queue.Done(key);
            }
        }
    }

    private static bool SameEntries(Dictionary<string, string>? a, Dictionary<string, string>? b)
    {
        if ((a?.Count ?? 0) != (b?.Count ?? 0))
        {
            return false;
        }

        return a is null || a.All(entry => b!.TryGetValue(entry.Key, out var value) && value == entry.Value);
    }
}
