using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// The peer of the ingestion runs: an ASP.NET Core server on the same core that reads each body
/// whole and throws it away, answering as the sidecar does. What it reaches is the ceiling HTTP
/// alone allows on this machine; the sidecar's rate over it is the share left after parsing and recording.
/// </summary>
internal static class HttpFloor
{
    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
        });
        var app = builder.Build();
        app.MapPost("/v1/events", async context =>
        {
            await DrainAsync(context);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"accepted\":1000}");
        });
        app.MapPost("/v1/metrics", async context =>
        {
            await DrainAsync(context);
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength = 0;
        });
        app.MapGet("/readyz", () => Results.Text("ok"));
        await app.RunAsync();
    }

    private static async Task DrainAsync(HttpContext context)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
