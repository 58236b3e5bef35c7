using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Sidecar.Http;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Handlers;

/// <summary>
/// Serves /metrics from reused segmented buffers, in the format the Accept header asks for, gzip-compressed
/// when the scraper accepts it (Prometheus always does) unless <paramref name="gzip"/> is off. Each buffer
/// is allocated on its first use: a sidecar only ever scraped with gzip never holds the plain text.
/// </summary>
internal sealed class Scraper(MetricRegistry registry, bool gzip)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SegmentedBuffer _buffer = new();
    private readonly SegmentedBuffer _compressed = new();
    private byte[]? _scratch;
    private readonly List<ReadOnlyMemory<byte>> _segments = [];

    public async ValueTask ServeAsync(HttpRequest request)
    {
        var openMetrics = ExpositionWriter.WantsOpenMetrics(request.Accept);
        var compress = gzip && ContentCoding.AcceptsGzip(request.AcceptEncoding);
        await _gate.WaitAsync(request.Aborted);
        try
        {
            registry.Self.Refresh();
            if (compress)
            {
                // Compressed as it is written: the plain text is never held whole.
                using (var gzipped = new GzipSegments(_compressed, _scratch ??= new byte[SegmentedBuffer.SegmentBytes]))
                {
                    ExpositionWriter.Write(registry, openMetrics, gzipped);
                }

                _compressed.Written(_segments);
            }
            else
            {
                _buffer.Reset();
                ExpositionWriter.Write(registry, openMetrics, _buffer);
                _buffer.Written(_segments);
            }

            await request.RespondSegmentsAsync(
                200, openMetrics ? ExpositionWriter.OpenMetricsContentType : ExpositionWriter.TextContentType, _segments, compress ? "gzip" : null);
        }
        finally
        {
            _gate.Release();
        }
    }
}
