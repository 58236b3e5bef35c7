using System.Diagnostics;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Sidecar.Metrics;

/// <summary>The sidecar's own metrics: what it received, refused and dropped, how delivery goes, and the process.</summary>
public sealed class SelfMetrics
{
    private const string Prefix = "agent_metrics_sidecar_";
    private readonly Series[] _dropped;
    private readonly MetricFamily _received;
    private readonly MetricFamily _rejected;
    private readonly MetricFamily _remoteWriteRequests;
    private readonly Series _seriesHeld;
    private readonly Series _metricsHeld;
    private readonly Series _residentMemory;
    private readonly Series _cpuSeconds;
    private readonly Series _gcHeap;
    private readonly MetricRegistry _registry;
    private double _lastCpuSeconds;

    internal SelfMetrics(MetricRegistry registry)
    {
        _registry = registry;
        var dropped = Define("dropped", MetricType.Counter, "Samples dropped, or label values cut short, by reason.", ["reason"]);
        _dropped = [.. DropReasons.All.Select(r => dropped.GetOrAdd([r.Label])!)];
        _received = Define("received", MetricType.Counter, "Events, OTLP data points and spans accepted, by kind.", ["kind"]);
        _rejected = Define("rejected_requests", MetricType.Counter, "Requests refused with a 4xx, by endpoint and status code.", ["endpoint", "code"]);
        _remoteWriteRequests = Define("remote_write_requests", MetricType.Counter, "Remote-write requests, by result: success, retry or rejected.", ["result"]);
        RemoteWriteSamples = Define("remote_write_samples", MetricType.Counter, "Samples delivered by remote write.", []).GetOrAdd([])!;
        RemoteWriteLastSuccess = Define("remote_write_last_success_timestamp_seconds", MetricType.Gauge, "When remote write last succeeded, in Unix seconds.", []).GetOrAdd([])!;
        DefinitionsInEffect = Define("definitions", MetricType.Gauge, "AgentMetricDefinitions in effect for this pod.", []).GetOrAdd([])!;
        DefinitionsConnected = Define("definitions_stream_connected", MetricType.Gauge, "1 while the definitions stream from the operator is connected.", []).GetOrAdd([])!;
        _seriesHeld = Define("series", MetricType.Gauge, "Series held, the sidecar's own excluded.", []).GetOrAdd([])!;
        _metricsHeld = Define("metrics", MetricType.Gauge, "Metric families held, the sidecar's own excluded.", []).GetOrAdd([])!;

        _residentMemory = DefineProcess("process_resident_memory_bytes", MetricType.Gauge, "Resident memory size in bytes.");
        _cpuSeconds = DefineProcess("process_cpu_seconds_total", MetricType.Counter, "Total user and system CPU time spent in seconds.");
        _gcHeap = DefineProcess("dotnet_gc_heap_size_bytes", MetricType.Gauge, "Bytes in the managed heap after the last collection.");
        DefineProcess("process_start_time_seconds", MetricType.Gauge, "Start time of the process since the Unix epoch in seconds.")
            .Set(new DateTimeOffset(Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Samples delivered by remote write.</summary>
    public Series RemoteWriteSamples { get; }

    /// <summary>When remote write last succeeded.</summary>
    public Series RemoteWriteLastSuccess { get; }

    /// <summary>Definitions in effect.</summary>
    public Series DefinitionsInEffect { get; }

    /// <summary>Whether the definitions stream is connected.</summary>
    public Series DefinitionsConnected { get; }

    /// <summary>The drop counter for <paramref name="reason"/>.</summary>
    public Series Dropped(DropReason reason) => _dropped[(int)reason];

    /// <summary>Counts accepted items of one kind (event, otlp_point, span).</summary>
    public void Received(string kind, long count) => _received.GetOrAdd([kind])?.Add(count);

    /// <summary>Counts a refused request.</summary>
    public void Rejected(string endpoint, int statusCode) => _rejected.GetOrAdd([endpoint, statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.Add(1);

    /// <summary>Counts a remote-write request by result.</summary>
    public void RemoteWriteRequest(string result) => _remoteWriteRequests.GetOrAdd([result])?.Add(1);

    /// <summary>Brings the process and size gauges up to date; called before every scrape and push.</summary>
    public void Refresh()
    {
        using var process = Process.GetCurrentProcess();
        _residentMemory.Set(process.WorkingSet64);
        var cpu = process.TotalProcessorTime.TotalSeconds;
        _cpuSeconds.Add(Math.Max(0, cpu - Interlocked.Exchange(ref _lastCpuSeconds, cpu)));
        _gcHeap.Set(GC.GetGCMemoryInfo().HeapSizeBytes);
        _seriesHeld.Set(_registry.SeriesCount);
        var metrics = 0;
        foreach (var family in _registry.Families)
        {
            if (family.Spec.Origin != FamilyOrigin.Self)
            {
                metrics++;
            }
        }

        _metricsHeld.Set(metrics);
    }

    private MetricFamily Define(string name, MetricType type, string help, string[] labels) =>
        _registry.GetOrDefine(new FamilySpec(Prefix + name, type, help, null, labels, [], 1000, FamilyOrigin.Self))!;

    private Series DefineProcess(string name, MetricType type, string help)
    {
        var familyName = type == MetricType.Counter ? name[..^"_total".Length] : name;
        return _registry.GetOrDefine(new FamilySpec(familyName, type, help, null, [], [], 1, FamilyOrigin.Self))!.GetOrAdd([])!;
    }
}
