using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AgentMetrics.Testing;

/// <summary>Receives webhook deliveries (Alertmanager's, for one) and lets a test wait for them.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<JsonElement> _deliveries = new();
    private LoopbackHttpServer? _server;

    private WebhookReceiver()
    {
    }

    /// <summary>The URL deliveries are posted to.</summary>
    public Uri Url => new(_server!.Url, "/deliveries");

    /// <summary>Every JSON body received so far, in arrival order.</summary>
    public IReadOnlyList<JsonElement> Deliveries => [.. _deliveries];

    /// <summary>Starts a receiver on a free loopback port.</summary>
    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        receiver._server = await LoopbackHttpServer.StartAsync(app => app.MapPost("/deliveries", async (HttpRequest request) =>
        {
            using var document = await JsonDocument.ParseAsync(request.Body);
            receiver._deliveries.Enqueue(document.RootElement.Clone());
            return Results.Ok();
        }));
        return receiver;
    }

    /// <summary>Waits for a delivery matching <paramref name="match"/> and returns it.</summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, TimeSpan timeout, string what)
    {
        JsonElement found = default;
        await Eventually.UntilAsync(
            () =>
            {
                foreach (var delivery in _deliveries)
                {
                    if (match(delivery))
                    {
                        found = delivery;
                        return Task.FromResult(true);
                    }
                }

                return Task.FromResult(false);
            },
            timeout,
            what);
        return found;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
