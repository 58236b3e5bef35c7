using System.Buffers;
using System.Net;
using AgentMetrics.Sidecar.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// The peer of the ingestion runs: the sidecar's own HTTP server on the same core, reading each body
/// whole and throwing it away, answering as the sidecar does. What it reaches is the ceiling HTTP
/// alone allows; the sidecar's rate over it is the share left after parsing and recording.
/// </summary>
internal static class HttpFloor
{
    public static async Task RunAsync(int port)
    {
        var accepted = "{\"accepted\":1000}"u8.ToArray();
        await using var server = new HttpServer(new IPEndPoint(IPAddress.Loopback, port),
        [
            new Route("POST", "/v1/events", async request =>
            {
                await DrainAsync(request);
                await request.RespondAsync(200, "application/json", accepted);
            }),
            new Route("POST", "/v1/metrics", async request =>
            {
                await DrainAsync(request);
                await request.RespondAsync(200, "application/x-protobuf", default);
            }),
            new Route("GET", "/readyz", request => request.RespondAsync(200, "text/plain", "ok"u8.ToArray())),
        ], NullLogger.Instance);
        server.Start();
        await Task.Delay(Timeout.Infinite);
    }

    private static async Task DrainAsync(HttpRequest request)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await request.Body.ReadAsync(buffer, request.Aborted) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
