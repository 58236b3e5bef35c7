using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using AgentMetrics.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>OTLP/gRPC: the OpenTelemetry .NET SDK's exporter at its defaults, and the wire cases it does not send.</summary>
public class OtlpGrpcTests
{
    private const string MetricsExport = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    private static readonly HttpClient Http2 = new(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task The_sdks_grpc_exporter_at_its_defaults_delivers_metrics_and_genai_spans()
    {
        // The SDK's defaults: protocol grpc, endpoint http://localhost:4317. Only this test takes 4317.
        await using var sidecar = await SidecarProcess.StartAsync("grpc-0", null, "--grpc-listen=http://127.0.0.1:4317");
        using var meter = new Meter("peer.grpc");
        var orders = meter.CreateCounter<long>("orders.processed");
        using var source = new ActivitySource("peer.grpc.agent");
        using (var metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("grpc-peer-agent"))
            .AddMeter(meter.Name)
            .AddOtlpExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 600_000)
            .Build())
        using (var traces = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("grpc-peer-agent"))
            .AddSource(source.Name)
            .AddOtlpExporter(exporter => exporter.ExportProcessorType = ExportProcessorType.Simple)
            .Build())
        {
            orders.Add(3, new KeyValuePair<string, object?>("channel", "web"));
            Assert.True(metrics.ForceFlush(10_000), "the gRPC metrics export failed");
            var start = DateTimeOffset.UtcNow;
            using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client, default(ActivityContext), startTime: start)!)
            {
                chat.SetTag("gen_ai.operation.name", "chat");
                chat.SetTag("gen_ai.provider.name", "openai");
                chat.SetTag("gen_ai.usage.output_tokens", 40);
                chat.SetEndTime(start.AddMilliseconds(200).UtcDateTime);
            }

            Assert.True(traces.ForceFlush(10_000), "the gRPC span export failed");
        }

        // One series of each, so the start of the line is enough.
        Assert.Equal(3, await sidecar.ValueAsync("orders_processed_total{namespace=\"demo\",pod=\"grpc-0\""));
        Assert.Equal(1, await sidecar.ValueAsync("gen_ai_client_operation_duration_seconds_count{namespace=\"demo\",pod=\"grpc-0\""));
    }

    [Fact]
    public async Task A_gzipped_message_is_recorded_and_answered_with_status_0_in_the_trailers()
    {
        await using var sidecar = await SidecarProcess.StartAsync("grpc-gzip");
        using var response = await ExportAsync(sidecar, Frame(Gzip(Jobs(7)), compressed: true), gzip: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(new byte[5], body);
        Assert.Equal("0", Status(response));
        Assert.Equal(7, await sidecar.ValueAsync("jobs_total{namespace=\"demo\",pod=\"grpc-gzip\",agent=\"support-agent\",agent_version=\"1.4.2\",k=\"a\"}"));
    }

    public static TheoryData<string, string, byte[], bool, string> Refused => new()
    {
        { "not protobuf", MetricsExport, Frame([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], compressed: false), false, "3" },
        { "not gzip", MetricsExport, Frame([1, 2, 3, 4], compressed: true), true, "3" },
        { "compressed without grpc-encoding", MetricsExport, Frame(Gzip(Jobs(1)), compressed: true), false, "12" },
        { "a prefix longer than the request", MetricsExport, [0, 0, 0, 1, 0, 1, 2], false, "3" },
        { "a prefix past the 4 MiB cap", MetricsExport, [0, 0x01, 0, 0, 0, 1], false, "8" },
        { "an unknown method", "/opentelemetry.proto.collector.logs.v1.LogsService/Export", Frame(Jobs(1), compressed: false), false, "12" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_bad_call_gets_a_grpc_status_naming_the_problem_and_records_nothing(string why, string path, byte[] body, bool gzip, string status)
    {
        await using var sidecar = await SidecarProcess.StartAsync("grpc-bad");
        using var response = await ExportAsync(sidecar, body, gzip, path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(status == Status(response), $"{why}: grpc-status {Status(response)}, expected {status}");
        Assert.False(string.IsNullOrEmpty(Header(response, "grpc-message")), $"{why}: no grpc-message");
        Assert.Null(await sidecar.ValueAsync("jobs_total{namespace=\"demo\",pod=\"grpc-bad\",agent=\"support-agent\",agent_version=\"1.4.2\",k=\"a\"}"));
    }

    [Fact]
    public async Task An_empty_grpc_listen_turns_grpc_off()
    {
        await using var sidecar = await SidecarProcess.StartAsync("grpc-off", null, "--grpc-listen=");
        using var client = new System.Net.Sockets.TcpClient();
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => client.ConnectAsync("127.0.0.1", sidecar.GrpcPort));
    }

    private static async Task<HttpResponseMessage> ExportAsync(SidecarProcess sidecar, byte[] body, bool gzip, string path = MetricsExport)
    {
        // Cleartext HTTP/2 with prior knowledge, as gRPC clients speak to an http:// endpoint.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(sidecar.Grpc, path))
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        if (gzip)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        }

        var response = await Http2.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    // A trailers-only answer carries grpc-status in its headers; a full one, in its trailers.
    private static string? Status(HttpResponseMessage response) => Header(response, "grpc-status");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.TrailingHeaders.TryGetValues(name, out values) ? values.First() : null;

    private static byte[] Jobs(long value) => new ProtoBuilder().Message(1, rm => rm
        .Message(2, sm => sm.Message(2, ProtoBuilder.Sum("jobs", value, 1, true, 2, ("k", "a"))))).ToArray();

    private static byte[] Frame(byte[] message, bool compressed)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return buffer.ToArray();
    }
}
