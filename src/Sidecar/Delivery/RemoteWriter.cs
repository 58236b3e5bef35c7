using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Delivery;

/// <summary>How push mode delivers: where, how often, and with which credentials.</summary>
public sealed record PushOptions
{
    /// <summary>The remote-write endpoint.</summary>
    public required Uri Url { get; init; }

    /// <summary>How often changed series are sent.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often every series is sent even when unchanged, so none goes stale in the store.</summary>
    public TimeSpan ResendInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Extra headers on every request (X-Scope-OrgID for a multi-tenant store, for example).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A file holding a bearer token, re-read on every request so rotated tokens are picked up.</summary>
    public string? BearerTokenFile { get; init; }

    /// <summary>Timeout of one request.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The most samples one request carries; more go in further requests of the same flush.</summary>
    public int MaxSamplesPerRequest { get; init; } = 5000;
}

/// <summary>
/// Push mode: every interval, the series that changed are sent with Prometheus remote write 1.0. A
/// failed request (network, 5xx, 429) marks its series changed again and waits with exponential
/// backoff: the latest value of each series is what gets retried, so the retry buffer is the series
/// themselves and stays bounded by the series limit. A 4xx other than 429 is dropped and counted.
/// On shutdown a last flush is followed by staleness markers for every series.
/// </summary>
public sealed class RemoteWriter : BackgroundLoop
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan SelfRefreshInterval = TimeSpan.FromSeconds(10);

    private readonly MetricRegistry _registry;
    private readonly PushOptions _options;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly RemoteWriteEncoder _encoder;
    private readonly ConcurrentQueue<Series> _stale = new();
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private long _lastTimestamp;
    private DateTimeOffset _nextResend;
    private DateTimeOffset _nextSelfRefresh;
    private DateTimeOffset _retryAt;
    private TimeSpan _backoff;

    /// <summary>Creates a writer; <paramref name="http"/> is owned by the caller.</summary>
    public RemoteWriter(MetricRegistry registry, PushOptions options, HttpClient http, ILogger<RemoteWriter> logger, TimeProvider? clock = null)
    {
        _registry = registry;
        _options = options;
        _http = http;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        _encoder = new RemoteWriteEncoder(registry.IdentityPairs);
    }

    /// <summary>Queues staleness markers for series that no longer exist (a removed custom metric).</summary>
    public void MarkStale(IEnumerable<Series> series)
    {
        foreach (var s in series)
        {
            if (_stale.Count < _registry.Limits.MaxSeries)
            {
                _stale.Enqueue(s);
            }
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Interval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stale: false, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout * 2);
        try
        {
            _retryAt = default;
            await FlushAsync(stale: false, timeout.Token);
            _retryAt = default;
            await FlushAsync(stale: true, timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
            _logger.LogWarning("the last flush on shutdown did not complete: {Error}", e.Message);
        }
    }

    /// <summary>
    /// Sends what changed (or, with <paramref name="stale"/>, staleness markers for every series).
    /// Returns false when a request failed and will be retried.
    /// </summary>
    public async Task<bool> FlushAsync(bool stale, CancellationToken cancellationToken)
    {
        await _flushGate.WaitAsync(cancellationToken);
        try
        {
            var now = _clock.GetUtcNow();
            if (!stale && now < _retryAt)
            {
                return false;
            }

            if (now >= _nextSelfRefresh)
            {
                _registry.Self.Refresh();
                _nextSelfRefresh = now + SelfRefreshInterval;
            }

            var full = stale || now >= _nextResend;
            var timestamp = Math.Max(now.ToUnixTimeMilliseconds(), _lastTimestamp + 1);
            _lastTimestamp = timestamp;

            var batch = new List<Series>();
            var ok = true;
            _encoder.Reset();
            if (full && !stale)
            {
                foreach (var family in _registry.Families)
                {
                    if (family.SeriesCount > 0)
                    {
                        _encoder.AddMetadata(family);
                    }
                }
            }

            while (!stale && _stale.TryDequeue(out var gone))
            {
                _encoder.Add(gone, timestamp, stale: true);
                ok &= await SendIfFullAsync(batch, cancellationToken);
            }

            foreach (var family in _registry.FamilySnapshot)
            {
                foreach (var series in family.SeriesSnapshot)
                {
                    if (series.TakeChanged() || full)
                    {
                        _encoder.Add(series, timestamp, stale);
                        batch.Add(series);
                        ok &= await SendIfFullAsync(batch, cancellationToken);
                    }
                }
            }

            if (_encoder.Samples > 0)
            {
                ok &= await SendAsync(batch, cancellationToken);
            }

            if (full && ok)
            {
                _nextResend = now + _options.ResendInterval;
            }

            return ok;
        }
        finally
        {
            _flushGate.Release();
        }
    }

    private async Task<bool> SendIfFullAsync(List<Series> batch, CancellationToken cancellationToken) =>
        _encoder.Samples < _options.MaxSamplesPerRequest || await SendAsync(batch, cancellationToken);

    private async Task<bool> SendAsync(List<Series> batch, CancellationToken cancellationToken)
    {
        var samples = _encoder.Samples;
        if (_clock.GetUtcNow() < _retryAt)
        {
            // An earlier request of this flush failed: keep the rest for the retry instead of hammering the store.
            _encoder.Reset();
            Retry(batch);
            return false;
        }

        var body = IronSnappy.Snappy.Encode(_encoder.Written);
        _encoder.Reset();
        var result = await PostAsync(body, cancellationToken);
        switch (result)
        {
            case HttpStatusCode code when (int)code is >= 200 and < 300:
                _registry.Self.RemoteWriteRequest("success");
                _registry.Self.RemoteWriteSamples.Add(samples);
                _registry.Self.RemoteWriteLastSuccess.Set(_clock.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
                _backoff = TimeSpan.Zero;
                break;
            case HttpStatusCode code when (int)code is >= 400 and < 500 && code != HttpStatusCode.TooManyRequests:
                _registry.Self.RemoteWriteRequest("rejected");
                _registry.CountDrop(DropReason.RemoteWriteRejected, samples);
                break;
            default:
                _registry.Self.RemoteWriteRequest("retry");
                _backoff = _backoff == TimeSpan.Zero ? _options.Interval : TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
                _retryAt = _clock.GetUtcNow() + _backoff;
                Retry(batch);
                return false;
        }

        batch.Clear();
        return true;
    }

    private static void Retry(List<Series> batch)
    {
        foreach (var series in batch)
        {
            series.MarkChanged();
        }

        batch.Clear();
    }

    /// <summary>Posts one compressed request; the status code, or null when no response came.</summary>
    private async Task<HttpStatusCode?> PostAsync(byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Content.Headers.ContentEncoding.Add("snappy");
        request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("agent-metrics-sidecar", "1.0"));
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (_options.BearerTokenFile is { } tokenFile)
        {
            try
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile, cancellationToken)).Trim());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A token mounted late or rotating is retried like a failed request, never the end of delivery.
                _logger.LogWarning("remote write: cannot read the bearer token file {File}: {Error}", tokenFile, e.Message);
                return null;
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using var response = await _http.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                _logger.LogWarning("remote write to {Url} answered {Status}: {Body}", _options.Url, (int)response.StatusCode,
                    await response.Content.ReadAsStringAsync(timeout.Token));
            }

            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            _logger.LogWarning("remote write to {Url} failed: {Error}", _options.Url, e.Message);
            return null;
        }
    }
}
