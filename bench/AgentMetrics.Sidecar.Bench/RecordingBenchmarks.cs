using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgentMetrics.Sidecar.Metrics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using MetricType = AgentMetrics.Api.Catalog.MetricType;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// One observation on an existing series with three labels: ours through the family lookup and
/// through a cached handle, against the OpenTelemetry .NET SDK's instruments as the baseline.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class RecordingBenchmarks
{
    private static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 25, 50];

    // Values spread over the buckets, the same sequence for every contender.
    private static readonly double[] Values = [0.003, 0.02, 0.07, 0.2, 0.6, 1.5, 4, 8, 20, 40, 70, 0.008, 0.04, 0.09, 0.3, 0.9];

    private readonly string[] _key = ["chat", "gpt-4o", "success"];
    private MetricFamily _counterFamily = null!;
    private MetricFamily _histogramFamily = null!;
    private Series _counter = null!;
    private Series _histogram = null!;
    private MeterProvider _provider = null!;
    private Meter _meter = null!;
    private Counter<long> _otelCounter = null!;
    private Histogram<double> _otelHistogram = null!;
    private TagList _tags;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var registry = new MetricRegistry([new("namespace", "bench"), new("pod", "bench-0"), new("agent", "bench-agent"), new("agent_version", "1")]);
        string[] labels = ["operation", "model", "outcome"];
        _counterFamily = registry.GetOrDefine(new FamilySpec("bench_requests", MetricType.Counter, "Requests.", null, labels, [], 1000, FamilyOrigin.Custom))!;
        _histogramFamily = registry.GetOrDefine(new FamilySpec("bench_duration_seconds", MetricType.Histogram, "Durations.", "seconds", labels, Bounds, 1000, FamilyOrigin.Custom))!;
        _counter = _counterFamily.GetOrAdd(_key)!;
        _histogram = _histogramFamily.GetOrAdd(_key)!;

        _meter = new Meter("AgentMetrics.Sidecar.Bench");
        _otelCounter = _meter.CreateCounter<long>("bench_requests");
        _otelHistogram = _meter.CreateHistogram<double>("bench_duration_seconds", "s");
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(_meter.Name)
            .AddView("bench_duration_seconds", new ExplicitBucketHistogramConfiguration { Boundaries = Bounds })
            .AddReader(new PeriodicExportingMetricReader(new DiscardingExporter(), exportIntervalMilliseconds: 60_000))
            .Build()!;
        _tags = new TagList { { "operation", "chat" }, { "model", "gpt-4o" }, { "outcome", "success" } };
        _otelCounter.Add(1, _tags);
        _otelHistogram.Record(Values[0], _tags);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        _meter.Dispose();
    }

    [Benchmark(Baseline = true, Description = "OpenTelemetry SDK Counter<long>.Add (TagList)")]
    [BenchmarkCategory("counter")]
    public void OtelCounter() => _otelCounter.Add(1, _tags);

    [Benchmark(Description = "ours: family.GetOrAdd(key).Add")]
    [BenchmarkCategory("counter")]
    public void CounterLookup() => _counterFamily.GetOrAdd(_key)!.Add(1);

    [Benchmark(Description = "ours: cached Series.Add")]
    [BenchmarkCategory("counter")]
    public void CounterCached() => _counter.Add(1);

    [Benchmark(Baseline = true, Description = "OpenTelemetry SDK Histogram<double>.Record (TagList)")]
    [BenchmarkCategory("histogram")]
    public void OtelHistogram() => _otelHistogram.Record(NextValue(), _tags);

    [Benchmark(Description = "ours: family.GetOrAdd(key).Observe")]
    [BenchmarkCategory("histogram")]
    public void HistogramLookup() => _histogramFamily.GetOrAdd(_key)!.Observe(NextValue());

    [Benchmark(Description = "ours: cached Series.Observe")]
    [BenchmarkCategory("histogram")]
    public void HistogramCached() => _histogram.Observe(NextValue());

    private double NextValue() => Values[_next++ & 15];

    /// <summary>An exporter that drops everything: the SDK has no in-memory exporter here, and the export cost is not what is measured.</summary>
    private sealed class DiscardingExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
