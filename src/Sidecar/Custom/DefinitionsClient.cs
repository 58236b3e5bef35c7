using System.Net.Http.Headers;
using System.Text.Json;
using AgentMetrics.Api.Streaming;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Custom;

/// <summary>
/// Follows the operator's definitions stream for this pod: each snapshot replaces the custom metrics
/// in effect at once. When the operator cannot be reached the last snapshot stays in effect and the
/// client reconnects as <see cref="ReconnectBackoff"/> says (capped, jittered exponential backoff, or
/// when the operator answers with Retry-After, then); a connection silent for longer than three
/// heartbeats is treated as dead.
/// </summary>
public sealed class DefinitionsClient(
    HttpClient http, Uri operatorUrl, string @namespace, string pod, string tokenFile, CustomMetrics custom,
    MetricRegistry registry, ILogger<DefinitionsClient> logger) : BackgroundLoop
{
    /// <summary>How long a connection may stay silent before it is dropped (three of the operator's 15 s heartbeats).</summary>
    public TimeSpan IdleTimeout { get; init; } = DefinitionStream.HeartbeatInterval * 3;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = new ReconnectBackoff();
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan? retryAfter = null;
            try
            {
                if (await FollowAsync(stoppingToken))
                {
                    backoff.Connected();
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or UnauthorizedAccessException
                || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
            {
                retryAfter = (e as RefusedException)?.RetryAfter;
                logger.LogWarning("definitions stream from {Url}: {Error}; keeping the {Count} definitions in effect", operatorUrl, e.Message, custom.Current.Metrics.Count);
            }
            finally
            {
                registry.Self.DefinitionsConnected.Set(0);
            }

            try
            {
                await Task.Delay(backoff.Failed(retryAfter), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads one connection to its end; true when at least one snapshot arrived.</summary>
    private async Task<bool> FollowAsync(CancellationToken stoppingToken)
    {
        var address = new Uri(operatorUrl, $"{DefinitionStream.Path.TrimStart('/')}?namespace={Uri.EscapeDataString(@namespace)}&pod={Uri.EscapeDataString(pod)}");
        using var request = new HttpRequestMessage(HttpMethod.Get, address);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile, stoppingToken)).Trim());
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        idle.CancelAfter(IdleTimeout);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(idle.Token);
            throw new RefusedException(
                $"the operator answered {(int)response.StatusCode}: {body}", ReconnectBackoff.RetryAfter(response.Headers.RetryAfter, DateTimeOffset.UtcNow));
        }

        await using var stream = await response.Content.ReadAsStreamAsync(idle.Token);
        using var reader = new StreamReader(stream);
        var received = false;
        while (await reader.ReadLineAsync(idle.Token) is { } line)
        {
            idle.CancelAfter(IdleTimeout);
            if (line.Length == 0)
            {
                continue;
            }

            var message = JsonSerializer.Deserialize(line, ApiJsonContext.Default.DefinitionStreamMessage);
            if (message?.Type != DefinitionStreamMessage.SnapshotType)
            {
                continue;
            }

            var definitions = message.Definitions ?? [];
            custom.Apply(definitions);
            registry.Self.DefinitionsConnected.Set(1);
            received = true;
            logger.LogInformation("definitions stream: {Count} definitions in effect", definitions.Count);
        }

        return received;
    }

    /// <summary>The operator answered with an error status, and maybe said when to come back.</summary>
    private sealed class RefusedException(string message, TimeSpan? retryAfter) : HttpRequestException(message)
    {
        public TimeSpan? RetryAfter { get; } = retryAfter;
    }
}
