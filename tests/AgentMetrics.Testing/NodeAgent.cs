using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Testing;

/// <summary>
/// An agent pod running on a <see cref="LocalNode"/>, with the example agent (tests/images/example-agent)
/// as its agent container. The agent takes work on <see cref="WorkPort"/> at the pod's address and
/// reports it to its sidecar over 127.0.0.1 inside the pod, so what a test posts here reaches the
/// sidecar the way a real agent's reports do; the sidecar's answer comes back unchanged.
/// </summary>
public sealed class NodeAgent
{
    /// <summary>The port the example agent takes work on.</summary>
    public const int WorkPort = 8080;

    /// <summary>The port the injected sidecar serves /metrics on, on every address of the pod.</summary>
    public const int MetricsPort = 9464;

    // Longer than the agent's own 30 s wait for its sidecar, so a slow sidecar shows as the agent's 504, not as a client timeout.
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(40) };

    private NodeAgent(string @namespace, string name, string podIp, JsonNode pod)
    {
        Namespace = @namespace;
        Name = name;
        PodIp = podIp;
        Pod = pod;
    }

    /// <summary>The pod's namespace.</summary>
    public string Namespace { get; }

    /// <summary>The pod's name.</summary>
    public string Name { get; }

    /// <summary>The pod's address on the node's bridge.</summary>
    public string PodIp { get; }

    /// <summary>The pod as the API server had it once every container was ready.</summary>
    public JsonNode Pod { get; }

    /// <summary>The sidecar's /metrics at the pod's address.</summary>
    public Uri Metrics => new(string.Create(CultureInfo.InvariantCulture, $"http://{PodIp}:{MetricsPort}/metrics"));

    /// <summary>
    /// The example agent's container: it takes work on <see cref="WorkPort"/>, reports a task of its
    /// own every <paramref name="intervalMs"/> (0: only what it is given), and runs restricted, with a
    /// read-only root.
    /// </summary>
    public static JsonObject Container(int intervalMs = 0) => new()
    {
        ["name"] = "agent",
        ["image"] = NodeImages.ExampleAgent,
        ["imagePullPolicy"] = "Never",
        ["env"] = new JsonArray(
            new JsonObject { ["name"] = "AGENT_INTERVAL_MS", ["value"] = intervalMs.ToString(CultureInfo.InvariantCulture) },
            new JsonObject { ["name"] = "AGENT_WORK_PORT", ["value"] = WorkPort.ToString(CultureInfo.InvariantCulture) }),
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "work", ["containerPort"] = WorkPort }),
        ["securityContext"] = new JsonObject
        {
            ["runAsNonRoot"] = true,
            ["runAsUser"] = 65532,
            ["allowPrivilegeEscalation"] = false,
            ["readOnlyRootFilesystem"] = true,
            ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
            ["seccompProfile"] = new JsonObject { ["type"] = "RuntimeDefault" },
        },
    };

    /// <summary>
    /// Waits until pod <paramref name="name"/> runs on the node with every container ready and the
    /// agent taking work; on a timeout the message carries the pod's description and logs.
    /// </summary>
    public static async Task<NodeAgent> WaitUntilReadyAsync(ControlPlane plane, string @namespace, string name, TimeSpan patience)
    {
        KubernetesObject? pod = null;
        string? podIp = null;
        // Asked through the API, not kubectl: a demo waits for twenty pods at once, four times a second.
        var client = plane.Api;
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    pod = await client.TryGetAsync(ResourceType.Pods, @namespace, name, KubernetesJsonContext.Default.KubernetesObject);
                    var statuses = pod?.Body["status"]?["containerStatuses"]?.AsArray() ?? [];
                    podIp = (string?)pod?.Body["status"]?["podIP"];
                    return podIp is not null && statuses.Count > 0 && statuses.All(s => (bool)s!["ready"]!);
                },
                patience,
                $"pod {@namespace}/{name} to have every container ready",
                TimeSpan.FromMilliseconds(250));
        }
        catch (TimeoutException e)
        {
            var described = await plane.Kubectl.TryRunAsync(null, "describe", "pod", name, "-n", @namespace);
            var logs = await plane.Kubectl.TryRunAsync(null, "logs", name, "-n", @namespace, "--all-containers", "--tail=20");
            throw new TimeoutException($"{e.Message}\n{described.Stdout}{described.Stderr}\nits logs:\n{logs.Stdout}{logs.Stderr}", e);
        }

        return new NodeAgent(@namespace, name, podIp!, JsonNode.Parse(JsonSerializer.Serialize(pod!, KubernetesJsonContext.Default.KubernetesObject))!);
    }

    /// <summary>The agent reports <paramref name="json"/> (events, as /v1/events takes them) to its sidecar.</summary>
    public Task<HttpResponseMessage> PostEventsAsync(string json) =>
        PostAsync("/v1/events", Encoding.UTF8.GetBytes(json), "application/json");

    /// <summary>The agent sends <paramref name="body"/> to its sidecar's <paramref name="path"/> (/v1/events, /v1/metrics).</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, byte[] body, string contentType)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{PodIp}:{WorkPort}{path}")))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        // The agent answers one request per connection.
        request.Headers.ConnectionClose = true;
        var response = await Http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>The sidecar's exposition, as Prometheus scrapes it at the pod's address.</summary>
    public Task<string> ScrapeAsync() => Http.GetStringAsync(Metrics);
}
