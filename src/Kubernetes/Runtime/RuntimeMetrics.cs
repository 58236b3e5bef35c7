using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>
/// The runtime's self-metrics, published on a System.Diagnostics.Metrics meter so that a host
/// exports them however it likes (the operator serves them on /metrics). Reconcile, work-queue and
/// leader-election metrics carry the names and labels controller-runtime operators publish, so the
/// dashboards and alerts written for those work unchanged.
/// </summary>
public static class RuntimeMetrics
{
    /// <summary>The meter every instrument below belongs to.</summary>
    public const string MeterName = "AgentMetrics.Kubernetes";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<string, Func<int>> QueueDepths = new();
    private static readonly ConcurrentDictionary<string, Func<bool>> Leaders = new();
    private static readonly ConcurrentDictionary<string, (int Active, int Max)> WorkerCounts = new();

    // controller-runtime's buckets for reconcile time, and client-go's for time in and out of the queue.
    private static readonly double[] ReconcileBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
            1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60];

    private static readonly double[] QueueBuckets = [.. Enumerable.Range(0, 12).Select(i => 1e-8 * Math.Pow(10, i))];

    /// <summary>Reconciles, tagged by controller and result (success, error, requeue_after).</summary>
    public static readonly Counter<long> Reconciles = Meter.CreateCounter<long>(
        "controller_runtime_reconcile_total", description: "Total number of reconciliations per controller.");

    /// <summary>Reconciles that failed, tagged by controller.</summary>
    public static readonly Counter<long> ReconcileErrors = Meter.CreateCounter<long>(
        "controller_runtime_reconcile_errors_total", description: "Total number of reconciliation errors per controller.");

    /// <summary>Reconciles that failed in a way retrying cannot mend (the namespace is being deleted), tagged by controller.</summary>
    public static readonly Counter<long> TerminalReconcileErrors = Meter.CreateCounter<long>(
        "controller_runtime_terminal_reconcile_errors_total", description: "Total number of terminal reconciliation errors per controller.");

    /// <summary>How long reconciles take, tagged by controller.</summary>
    public static readonly Histogram<double> ReconcileDuration = Meter.CreateHistogram(
        "controller_runtime_reconcile_time_seconds", unit: "s", description: "Length of time per reconciliation per controller.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = ReconcileBuckets });

    /// <summary>Keys added to a work queue, tagged by name and controller.</summary>
    public static readonly Counter<long> QueueAdds = Meter.CreateCounter<long>(
        "workqueue_adds_total", description: "Total number of adds handled by workqueue.");

    /// <summary>Keys queued again after a failure, tagged by name and controller.</summary>
    public static readonly Counter<long> QueueRetries = Meter.CreateCounter<long>(
        "workqueue_retries_total", description: "Total number of retries handled by workqueue.");

    /// <summary>How long a key waited in the queue before a worker took it.</summary>
    public static readonly Histogram<double> QueueDuration = Meter.CreateHistogram(
        "workqueue_queue_duration_seconds", unit: "s", description: "How long in seconds an item stays in workqueue before being requested.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = QueueBuckets });

    /// <summary>How long a worker held a key.</summary>
    public static readonly Histogram<double> WorkDuration = Meter.CreateHistogram(
        "workqueue_work_duration_seconds", unit: "s", description: "How long in seconds processing an item from workqueue takes.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = QueueBuckets });

    /// <summary>Watches started again, tagged by resource and reason (closed, gone, error).</summary>
    public static readonly Counter<long> WatchRestarts = Meter.CreateCounter<long>(
        "agentmetrics_informer_watch_restarts_total", description: "Watches that had to be started again, by resource and reason.");

    /// <summary>Watch events received, tagged by resource.</summary>
    public static readonly Counter<long> WatchEvents = Meter.CreateCounter<long>(
        "agentmetrics_informer_watch_events_total", description: "Watch events received, by resource.");

    static RuntimeMetrics()
    {
        Meter.CreateObservableGauge(
            "workqueue_depth",
            () => QueueDepths.Select(q => new Measurement<int>(q.Value(), QueueTags(q.Key))),
            description: "Current depth of workqueue.");
        Meter.CreateObservableGauge(
            "controller_runtime_active_workers",
            () => WorkerCounts.Select(w => new Measurement<int>(w.Value.Active, new KeyValuePair<string, object?>("controller", w.Key))),
            description: "Number of currently used workers per controller.");
        Meter.CreateObservableGauge(
            "controller_runtime_max_concurrent_reconciles",
            () => WorkerCounts.Select(w => new Measurement<int>(w.Value.Max, new KeyValuePair<string, object?>("controller", w.Key))),
            description: "Maximum number of concurrent reconciles per controller.");
        Meter.CreateObservableGauge(
            "leader_election_master_status",
            () => Leaders.Select(l => new Measurement<int>(l.Value() ? 1 : 0, new KeyValuePair<string, object?>("name", l.Key))),
            description: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease.");
    }

    /// <summary>The labels controller-runtime puts on a work queue's metrics: its name, as name and as controller.</summary>
    public static TagList QueueTags(string queue) => new() { { "controller", queue }, { "name", queue } };

    internal static void TrackQueue(string name, Func<int> depth) => QueueDepths[name] = depth;

    internal static void UntrackQueue(string name) => QueueDepths.TryRemove(name, out _);

    internal static void TrackWorkers(string controller, int max) => WorkerCounts[controller] = (0, max);

    internal static void UntrackWorkers(string controller) => WorkerCounts.TryRemove(controller, out _);

    internal static void WorkerBusy(string controller, int change) =>
        WorkerCounts.AddOrUpdate(controller, _ => (Math.Max(change, 0), 0), (_, w) => (w.Active + change, w.Max));

    internal static void TrackLeader(string lease, Func<bool> isLeader) => Leaders[lease] = isLeader;
}
