using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using AgentMetrics.Api.Streaming;
using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Fleet.Bench;

/// <summary>
/// One pod's definitions stream, followed as the sidecar's DefinitionsClient follows it: the same
/// request, the same NDJSON parsing, and the same reconnection (the sidecar's <see cref="ReconnectBackoff"/>,
/// Retry-After included). What it records instead of applying the snapshot: when snapshots arrived and
/// the generation of the namespace-wide definition.
/// </summary>
public sealed class FleetStream(HttpClient http, Uri operatorUrl, string @namespace, string pod, string token)
{
    private static readonly ConcurrentDictionary<string, int> Refusals = new();
    private readonly Lock _gate = new();
    private readonly List<long> _snapshotTimes = [];
    private long _fleetWideGeneration;
    private TimeSpan? _retryAfter;

    /// <summary>Snapshots received so far.</summary>
    public int Snapshots
    {
        get
        {
            lock (_gate)
            {
                return _snapshotTimes.Count;
            }
        }
    }

    /// <summary>The Stopwatch timestamp of the last snapshot; 0 before the first.</summary>
    public long LastSnapshotAt
    {
        get
        {
            lock (_gate)
            {
                return _snapshotTimes.Count == 0 ? 0 : _snapshotTimes[^1];
            }
        }
    }

    /// <summary>The generation of definition fleet-wide in the last snapshot.</summary>
    public long FleetWideGeneration => Interlocked.Read(ref _fleetWideGeneration);

    /// <summary>When the generation of fleet-wide last changed (Stopwatch timestamp).</summary>
    public long FleetWideChangedAt { get; private set; }

    /// <summary>Refused stream requests of every stream, by status code, as "503: 12, 429: 3".</summary>
    public static string RefusalSummary() =>
        Refusals.IsEmpty ? "none" : string.Join(", ", Refusals.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}: {r.Value}"));

    /// <summary>The first snapshot after <paramref name="timestamp"/>.</summary>
    public long FirstSnapshotAfter(long timestamp)
    {
        lock (_gate)
        {
            return _snapshotTimes.First(t => t > timestamp);
        }
    }

    /// <summary>Follows the stream until cancelled.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var backoff = new ReconnectBackoff();
        while (!stoppingToken.IsCancellationRequested)
        {
            _retryAfter = null;
            try
            {
                if (await FollowAsync(stoppingToken))
                {
                    backoff.Connected();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                // As the sidecar: keep what is in effect and connect again after the backoff.
            }

            try
            {
                await Task.Delay(backoff.Failed(_retryAfter), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> FollowAsync(CancellationToken stoppingToken)
    {
        var address = new Uri(operatorUrl, $"{DefinitionStream.Path.TrimStart('/')}?namespace={Uri.EscapeDataString(@namespace)}&pod={Uri.EscapeDataString(pod)}");
        using var request = new HttpRequestMessage(HttpMethod.Get, address);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        idle.CancelAfter(DefinitionStream.HeartbeatInterval * 3);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token);
        if (!response.IsSuccessStatusCode)
        {
            Refusals.AddOrUpdate(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
            _retryAfter = ReconnectBackoff.RetryAfter(response.Headers.RetryAfter, DateTimeOffset.UtcNow);
            return false;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(idle.Token);
        using var reader = new StreamReader(stream);
        var received = false;
        while (await reader.ReadLineAsync(idle.Token) is { } line)
        {
            idle.CancelAfter(DefinitionStream.HeartbeatInterval * 3);
            if (line.Length == 0)
            {
                continue;
            }

            var message = JsonSerializer.Deserialize(line, ApiJsonContext.Default.DefinitionStreamMessage);
            if (message?.Type != DefinitionStreamMessage.SnapshotType)
            {
                continue;
            }

            var now = Stopwatch.GetTimestamp();
            var generation = message.Definitions?.FirstOrDefault(d => d.Metadata.Name == "fleet-wide")?.Metadata.Generation ?? 0;
            if (generation != FleetWideGeneration)
            {
                FleetWideChangedAt = now;
                Interlocked.Exchange(ref _fleetWideGeneration, generation);
            }

            lock (_gate)
            {
                _snapshotTimes.Add(now);
            }

            received = true;
        }

        return received;
    }
}
