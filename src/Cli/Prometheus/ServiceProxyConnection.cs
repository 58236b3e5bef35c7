using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Cli.Prometheus;

/// <summary>
/// The Prometheus HTTP API of a Service in the cluster, through the API server's service proxy
/// (<c>/api/v1/namespaces/NS/services/NAME:PORT/proxy/...</c>), with the kubeconfig's credentials: what
/// <c>kubectl get --raw</c> would reach, so no port-forward is needed. The user needs the <c>get</c> verb
/// on <c>services/proxy</c> in that namespace.
/// </summary>
public sealed class ServiceProxyConnection : PrometheusConnection
{
    private readonly KubernetesClient _client;

    /// <summary>Queries the Service <paramref name="name"/>'s port <paramref name="port"/> (a number or a port name) in <paramref name="namespace"/>.</summary>
    public ServiceProxyConnection(KubernetesClientConfiguration configuration, string @namespace, string name, string port, TimeSpan timeout)
    {
        // A live view asks again in a second: a failed request is shown, not retried behind the user's back.
        _client = new KubernetesClient(configuration) { RequestTimeout = timeout, Retry = new RetryOptions { MaxRetries = 0 } };
        ProxyPath = $"/api/v1/namespaces/{Uri.EscapeDataString(@namespace)}/services/{Uri.EscapeDataString(name)}:{Uri.EscapeDataString(port)}/proxy";
        Service = $"{@namespace}/{name}:{port}";
    }

    /// <summary>The API server path the Prometheus API paths are appended to.</summary>
    public string ProxyPath { get; }

    /// <summary>The Service, as namespace/name:port.</summary>
    public string Service { get; }

    /// <inheritdoc />
    public override string Description => $"service {Service} via {_client.Configuration.Server.GetLeftPart(UriPartial.Authority)}";

    /// <inheritdoc />
    public override async Task<JsonNode> GetAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.GetPathAsync(ProxyPath + pathAndQuery, KubernetesJsonContext.Default.JsonObject, cancellationToken);
        }
        catch (KubernetesApiException e)
        {
            // Prometheus's own refusal (a bad query) comes back through the proxy with its JSON body.
            if (e.Status.Message is { } message && Envelope(message) is { } envelope)
            {
                return envelope;
            }

            throw new PrometheusException(
                $"the API server at {_client.Configuration.Server.GetLeftPart(UriPartial.Authority)} could not proxy to {Service}: {e.StatusCode:D} {e.Status.Reason}: {OneLine(e.Status.Message)}",
                unreachable: true, e);
        }
        catch (HttpRequestException e)
        {
            throw new PrometheusException($"cannot reach the API server at {_client.Configuration.Server.GetLeftPart(UriPartial.Authority)}: {e.InnerException?.Message ?? e.Message}", unreachable: true, e);
        }
        catch (TimeoutException e)
        {
            throw new PrometheusException($"{Description}: {e.Message}", unreachable: true, e);
        }
        catch (InvalidOperationException e)
        {
            // An exec credential plugin that failed says why.
            throw new PrometheusException($"kubeconfig: {e.Message}", unreachable: true, e);
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing) => _client.Dispose();

    private static string OneLine(string? text) =>
        string.Join(' ', (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
