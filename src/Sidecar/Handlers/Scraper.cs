using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Sidecar.Http;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Handlers;

/// <summary>Serves /metrics from one reused segmented buffer, in the format the Accept header asks for.</summary>
internal sealed class Scraper(MetricRegistry registry)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SegmentedBuffer _buffer = new();
    private readonly List<ReadOnlyMemory<byte>> _segments = [];

    public async ValueTask ServeAsync(HttpRequest request)
    {
        var openMetrics = ExpositionWriter.WantsOpenMetrics(request.Accept);
        await _gate.WaitAsync(request.Aborted);
        try
        {
            registry.Self.Refresh();
            _buffer.Reset();
            ExpositionWriter.Write(registry, openMetrics, _buffer);
            _buffer.Written(_segments);
            await request.RespondSegmentsAsync(200, openMetrics ? ExpositionWriter.OpenMetricsContentType : ExpositionWriter.TextContentType, _segments);
        }
        finally
        {
            _gate.Release();
        }
    }
}
