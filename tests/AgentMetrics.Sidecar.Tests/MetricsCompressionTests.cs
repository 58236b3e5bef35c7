using System.IO.Compression;
using System.Net;
using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>/metrics answers in gzip to a scraper that accepts it, as Prometheus always does, and in plain text otherwise.</summary>
public class MetricsCompressionTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("gzip", true)]
    [InlineData("GZIP", true)]
    [InlineData("x-gzip", true)]
    [InlineData("deflate, gzip;q=0.5", true)]
    [InlineData("gzip;q=0", false)]
    [InlineData("gzip; q=0.000", false)]
    [InlineData("identity", false)]
    [InlineData("br, zstd", false)]
    [InlineData("*", true)]
    [InlineData("*;q=0", false)]
    [InlineData("*, gzip;q=0", false)]
    [InlineData("gzip;q=0, *", false)]
    [InlineData("gzip;q=bad", false)]
    public void Accept_encoding_is_read_with_its_weights(string? acceptEncoding, bool gzip) =>
        Assert.Equal(gzip, ContentCoding.AcceptsGzip(acceptEncoding));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_exposition_of_many_scratch_segments_compresses_to_gzip_that_decodes_to_the_same_text(bool openMetrics)
    {
        var registry = new AgentMetrics.Sidecar.Metrics.MetricRegistry([new("namespace", "demo"), new("pod", "p")], new AgentMetrics.Sidecar.Metrics.MetricLimits { MaxSeries = 100_000 });
        for (var m = 0; m < 20; m++)
        {
            var family = registry.GetOrDefine(new AgentMetrics.Sidecar.Metrics.FamilySpec(
                $"m{m}", m % 2 == 0 ? AgentMetrics.Api.Catalog.MetricType.Histogram : AgentMetrics.Api.Catalog.MetricType.Counter, "Help.", null, ["k"], [0.1, 1, 10], 1000,
                AgentMetrics.Sidecar.Metrics.FamilyOrigin.Custom))!;
            for (var k = 0; k < 500; k++)
            {
                var series = family.GetOrAdd([$"value-{k}"])!;
                if (m % 2 == 0)
                {
                    series.Observe(k * 0.01);
                }
                else
                {
                    series.Add(k);
                }
            }
        }

        var plain = new System.Buffers.ArrayBufferWriter<byte>();
        ExpositionWriter.Write(registry, openMetrics, plain);
        var compressed = new SegmentedBuffer();
        // A scratch smaller than one line asks for: the writer takes a bigger one.
        using (var gzip = new GzipSegments(compressed, new byte[16]))
        {
            ExpositionWriter.Write(registry, openMetrics, gzip);
        }

        var segments = new List<ReadOnlyMemory<byte>>();
        compressed.Written(segments);
        var bytes = segments.SelectMany(s => s.ToArray()).ToArray();
        using var decoded = new MemoryStream();
        using (var gunzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress))
        {
            gunzip.CopyTo(decoded);
        }

        Assert.True(plain.WrittenCount > 4 * SegmentedBuffer.SegmentBytes, $"the exposition is {plain.WrittenCount} bytes, fewer than four scratch segments");
        Assert.Equal(plain.WrittenSpan.ToArray(), decoded.ToArray());
        Assert.True(bytes.Length * 5 < plain.WrittenCount, $"{bytes.Length} compressed bytes for {plain.WrittenCount}");
    }

    [Fact]
    public async Task A_scrape_with_prometheus_headers_gets_gzip_that_decodes_to_the_plain_exposition()
    {
        await using var sidecar = await SidecarProcess.StartAsync("gzip-0");
        (await sidecar.PostEventsAsync("""[{"type":"task","duration_seconds":0.4,"outcome":"success"},{"type":"task","duration_seconds":2.5,"outcome":"failure"}]""")).EnsureSuccessStatusCode();

        var (plainEncoding, plainVary, plain, plainBytes) = await ScrapeAsync(sidecar, acceptEncoding: null);
        var (encoding, vary, decoded, bytes) = await ScrapeAsync(sidecar, acceptEncoding: "gzip");

        Assert.Null(plainEncoding);
        Assert.Equal("gzip", encoding);
        Assert.Contains("Accept-Encoding", vary);
        Assert.Empty(plainVary);
        Assert.EndsWith("# EOF\n", decoded, StringComparison.Ordinal);
        Assert.Contains("agent_tasks_total{namespace=\"demo\",pod=\"gzip-0\"", decoded, StringComparison.Ordinal);
        // The sidecar's own metrics (scrape counts, process figures) move between two scrapes; everything else is the same text.
        Assert.Equal(Stable(plain), Stable(decoded));
        Assert.True(bytes * 3 < plainBytes, $"gzip sent {bytes} bytes for {plainBytes} plain ones");
    }

    [Theory]
    [InlineData("gzip;q=0")]
    [InlineData("identity")]
    public async Task A_scraper_that_refuses_gzip_gets_plain_text(string acceptEncoding)
    {
        await using var sidecar = await SidecarProcess.StartAsync("plain-0");
        var (encoding, _, text, _) = await ScrapeAsync(sidecar, acceptEncoding);
        Assert.Null(encoding);
        Assert.EndsWith("# EOF\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_compression_none_answers_plain_text_even_to_prometheus()
    {
        await using var sidecar = await SidecarProcess.StartAsync("none-0", null, "--metrics-compression=none");
        var (encoding, _, text, _) = await ScrapeAsync(sidecar, "gzip");
        Assert.Null(encoding);
        Assert.EndsWith("# EOF\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_head_request_for_gzip_gets_the_compressed_length_and_no_body()
    {
        await using var sidecar = await SidecarProcess.StartAsync("head-0");
        using var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None });
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri(sidecar.Metrics, "/metrics"));
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
        Assert.True(response.Content.Headers.ContentLength > 0);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    private static async Task<(string? Encoding, IReadOnlyList<string> Vary, string Text, long WireBytes)> ScrapeAsync(SidecarProcess sidecar, string? acceptEncoding)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(sidecar.Metrics, "/metrics"));
        request.Headers.TryAddWithoutValidation("Accept", PrometheusServer.ScrapeAccept);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        var encoding = response.Content.Headers.ContentEncoding.SingleOrDefault();
        var vary = response.Headers.Vary.ToList();
        if (encoding == "gzip")
        {
            using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
            using var reader = new StreamReader(gzip);
            return (encoding, vary, await reader.ReadToEndAsync(), body.Length);
        }

        return (encoding, vary, System.Text.Encoding.UTF8.GetString(body), body.Length);
    }

    private static List<string> Stable(string exposition) =>
        [.. exposition.Split('\n').Where(line => !line.Contains("agent_metrics_sidecar_", StringComparison.Ordinal) && !line.StartsWith("process_", StringComparison.Ordinal)
            && !line.StartsWith("dotnet_", StringComparison.Ordinal) && !line.Contains(" process_", StringComparison.Ordinal) && !line.Contains(" dotnet_", StringComparison.Ordinal))];
}
