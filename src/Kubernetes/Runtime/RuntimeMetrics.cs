using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>
/// The runtime's self-metrics, published on a System.Diagnostics.Metrics meter so that a host
/// exports them however it likes (the operator serves them on /metrics).
/// </summary>
public static class RuntimeMetrics
{
    /// <summary>The meter every instrument below belongs to.</summary>
    public const string MeterName = "AgentMetrics.Kubernetes";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<string, Func<int>> QueueDepths = new();
    private static readonly ConcurrentDictionary<string, Func<bool>> Leaders = new();

    /// <summary>Reconciles, tagged by controller and result (success, error, requeue).</summary>
    public static readonly Counter<long> Reconciles = Meter.CreateCounter<long>(
        "controller_reconcile_total", description: "Reconciles run, by controller and result.");

    /// <summary>How long reconciles take, tagged by controller.</summary>
    public static readonly Histogram<double> ReconcileDuration = Meter.CreateHistogram<double>(
        "controller_reconcile_duration_seconds", unit: "s", description: "Time spent in one reconcile.");

    /// <summary>Watches started again, tagged by resource and reason (closed, gone, error).</summary>
    public static readonly Counter<long> WatchRestarts = Meter.CreateCounter<long>(
        "informer_watch_restarts_total", description: "Watches that had to be started again, by resource and reason.");

    /// <summary>Watch events received, tagged by resource.</summary>
    public static readonly Counter<long> WatchEvents = Meter.CreateCounter<long>(
        "informer_watch_events_total", description: "Watch events received, by resource.");

    static RuntimeMetrics()
    {
        Meter.CreateObservableGauge(
            "workqueue_depth",
            () => QueueDepths.Select(q => new Measurement<int>(q.Value(), new KeyValuePair<string, object?>("queue", q.Key))),
            description: "Keys waiting in a work queue.");
        Meter.CreateObservableGauge(
            "leader_election_is_leader",
            () => Leaders.Select(l => new Measurement<int>(l.Value() ? 1 : 0, new KeyValuePair<string, object?>("lease", l.Key))),
            description: "1 while this replica holds the lease.");
    }

    internal static void TrackQueue(string name, Func<int> depth) => QueueDepths[name] = depth;

    internal static void UntrackQueue(string name) => QueueDepths.TryRemove(name, out _);

    internal static void TrackLeader(string lease, Func<bool> isLeader) => Leaders[lease] = isLeader;
}
