using System.Diagnostics.Metrics;

namespace AgentMetrics.Operator.Streaming;

/// <summary>The definitions stream's self-metrics, served on the operator's /metrics.</summary>
public static class StreamMetrics
{
    /// <summary>The meter every instrument below belongs to.</summary>
    public const string MeterName = "AgentMetrics.Operator";

    private static readonly Meter Meter = new(MeterName);
    private static int _open;

    /// <summary>Requests for a stream, tagged by the HTTP status code they were answered with.</summary>
    public static readonly Counter<long> Requests = Meter.CreateCounter<long>(
        "definition_stream_requests_total", description: "Requests for a definitions stream, by HTTP status code.");

    /// <summary>Snapshots sent to sidecars.</summary>
    public static readonly Counter<long> Snapshots = Meter.CreateCounter<long>(
        "definition_stream_snapshots_total", description: "Snapshots of definitions sent to sidecars.");

    /// <summary>Token reviews, tagged by result (authenticated, unauthenticated, cached, failed).</summary>
    public static readonly Counter<long> TokenReviews = Meter.CreateCounter<long>(
        "definition_stream_token_reviews_total", description: "Bearer tokens reviewed, by result; cached ones were not sent to the API server.");

    static StreamMetrics() => Meter.CreateObservableGauge(
        "definition_streams_open", () => Volatile.Read(ref _open), description: "Definitions streams open now.");

    /// <summary>Counts a stream as open until the result is disposed.</summary>
    public static IDisposable Open()
    {
        Interlocked.Increment(ref _open);
        return new Closer();
    }

    private sealed class Closer : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                Interlocked.Decrement(ref _open);
            }
        }
    }
}
