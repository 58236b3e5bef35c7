using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentMetrics.Kubernetes.Config;

namespace AgentMetrics.Cli.Prometheus;

/// <summary>
/// Where the Prometheus HTTP API is reached: at its own URL, or through the Kubernetes API server's
/// service proxy. Either way a GET of an API path answers Prometheus's JSON envelope.
/// </summary>
public abstract class PrometheusConnection : IDisposable
{
    /// <summary>The connection the flags describe: the URL when given, else the Service through the kubeconfig's API server.</summary>
    public static PrometheusConnection Open(string? url, string service, string? kubeconfig, string? context, TimeSpan timeout)
    {
        if (url is not null)
        {
            return Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
                ? new DirectConnection(parsed, timeout)
                : throw new ArgumentException($"--prometheus must be an http or https URL, got \"{url}\"");
        }

        var match = Regex.Match(service, "^(?:(?<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/)?(?<name>[a-z0-9]([-a-z0-9]*[a-z0-9])?):(?<port>[a-z0-9]([-a-z0-9]*[a-z0-9])?)$");
        if (!match.Success)
        {
            throw new ArgumentException($"--prometheus-service must be [namespace/]name:port (port a number or a port name), got \"{service}\"");
        }

        KubernetesClientConfiguration configuration;
        try
        {
            configuration = kubeconfig is not null ? Kubeconfig.Load(kubeconfig, context) : KubernetesClientConfiguration.Default(context);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            throw new ArgumentException($"--kubeconfig: {e.Message} (or give --prometheus URL)", e);
        }

        var @namespace = match.Groups["namespace"].Success ? match.Groups["namespace"].Value : configuration.Namespace;
        return new ServiceProxyConnection(configuration, @namespace, match.Groups["name"].Value, match.Groups["port"].Value, timeout);
    }

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
