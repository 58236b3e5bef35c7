using System.Buffers;
using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Sidecar.Metrics;
using BenchmarkDotNet.Attributes;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>One scrape of the 1000 × 10 set of bench-set.mjs into a reused buffer; prom-client's figure comes from prom-client-bench.mjs in the same run.</summary>
[MemoryDiagnoser]
public class ExpositionBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(8 * 1024 * 1024);
    private MetricRegistry _registry = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = BenchSet.Build();
        Text();
        Console.WriteLine($"// bytes per scrape: text {_buffer.WrittenCount}");
        OpenMetrics();
        Console.WriteLine($"// bytes per scrape: OpenMetrics {_buffer.WrittenCount}");
    }

    [Benchmark(Description = "text 0.0.4")]
    public int Text()
    {
        _buffer.ResetWrittenCount();
        ExpositionWriter.Write(_registry, openMetrics: false, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "OpenMetrics 1.0")]
    public int OpenMetrics()
    {
        _buffer.ResetWrittenCount();
        ExpositionWriter.Write(_registry, openMetrics: true, _buffer);
        return _buffer.WrittenCount;
    }
}
