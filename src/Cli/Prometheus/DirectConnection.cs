using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace AgentMetrics.Cli.Prometheus;

/// <summary>The Prometheus HTTP API at its own URL (a port-forward, an ingress, a Prometheus outside the cluster).</summary>
public sealed class DirectConnection : PrometheusConnection
{
    private readonly HttpClient _http;
    private readonly Uri _base;

    /// <summary>Queries go to <paramref name="baseUrl"/>, which may carry a path prefix (a Prometheus behind --web.route-prefix).</summary>
    public DirectConnection(Uri baseUrl, TimeSpan timeout)
    {
        _base = baseUrl;
        _http = new HttpClient { Timeout = timeout };
    }

    /// <inheritdoc />
    public override string Description => _base.ToString().TrimEnd('/');

    /// <inheritdoc />
    public override async Task<JsonNode> GetAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        var url = new Uri(_base.ToString().TrimEnd('/') + pathAndQuery);
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(url, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new PrometheusException($"cannot reach Prometheus at {Description}: {Reason(e)}", unreachable: true, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PrometheusException($"Prometheus at {Description} did not answer within {_http.Timeout.TotalSeconds:0.#}s", unreachable: true, e);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return Envelope(body) ?? throw new PrometheusException(
                $"{Description} answered {(int)response.StatusCode} {response.ReasonPhrase} without a Prometheus API response; is it a Prometheus?",
                unreachable: true);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing) => _http.Dispose();

    private static string Reason(HttpRequestException e) =>
        e.InnerException is SocketException socket ? socket.Message : e.Message;
}
