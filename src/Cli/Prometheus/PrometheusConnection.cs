using System.Text.Json.Nodes;

namespace AgentMetrics.Cli.Prometheus;

/// <summary>
/// Where the Prometheus HTTP API is reached: at its own URL, or through the Kubernetes API server's
/// service proxy. Either way a GET of an API path answers Prometheus's JSON envelope.
/// </summary>
public abstract class PrometheusConnection : IDisposable
{
    /// <summary>Where the queries go, for status lines and errors.</summary>
    public abstract string Description { get; }

    /// <summary>
    /// GETs <paramref name="pathAndQuery"/> (such as <c>/api/v1/query?query=up</c>) and returns the JSON
    /// envelope Prometheus answered, error envelopes included; throws <see cref="PrometheusException"/>
    /// when nothing Prometheus-shaped answered.
    /// </summary>
    public abstract Task<JsonNode> GetAsync(string pathAndQuery, CancellationToken cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the connection's HTTP client.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>A Prometheus JSON envelope in <paramref name="body"/>, or null when the body is something else (a proxy's page).</summary>
    protected static JsonNode? Envelope(string body)
    {
        try
        {
            return JsonNode.Parse(body) is JsonObject envelope && envelope["status"] is JsonValue ? envelope : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
