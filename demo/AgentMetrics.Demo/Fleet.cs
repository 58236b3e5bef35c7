using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;

namespace AgentMetrics.Demo;

/// <summary>One kind of agent: a Deployment of identical pods, labelled as the samples select them.</summary>
internal sealed record AgentKind(string Name, string Role, int Replicas, bool Slow)
{
    /// <summary>The example agent, taking its work from the demo's traffic generator; small requests, so twenty pods fit a two-core node.</summary>
    private static JsonObject AgentContainer()
    {
        var container = NodeAgent.Container();
        container["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "5m", ["memory"] = "8Mi" } };
        return container;
    }

    public JsonObject Deployment() => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = Name },
        ["spec"] = new JsonObject
        {
            ["replicas"] = Replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = Name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["labels"] = new JsonObject
                    {
                        ["app.kubernetes.io/name"] = Name,
                        ["app.kubernetes.io/version"] = "1.4.2",
                        ["agentmetrics.io/role"] = Role,
                    },
                },
                ["spec"] = new JsonObject
                {
                    ["serviceAccountName"] = "default",
                    ["schedulerName"] = LocalNode.SchedulerName,
                    ["terminationGracePeriodSeconds"] = 5,
                    ["containers"] = new JsonArray(AgentContainer()),
                },
            },
        },
    };
}

/// <summary>
/// The demo's agent kinds: two pods each, so one slow kind stands out against the rest of the fleet. The
/// slow one is the support agent, the one the p99 sample watches, so its alert is the one that fires.
/// </summary>
internal static class AgentKinds
{
    private static readonly (string Name, string Role)[] Names =
    [
        ("support-agent", "support"), ("research-agent", "researcher"), ("planner-agent", "planner"), ("billing-agent", "billing"),
        ("triage-agent", "triage"), ("refund-agent", "support"), ("coding-agent", "engineer"), ("review-agent", "engineer"),
        ("sales-agent", "sales"), ("onboarding-agent", "support"),
    ];

    public static List<AgentKind> For(int pods)
    {
        var kinds = new List<AgentKind>();
        var count = Math.Max(1, (pods + 1) / 2);
        for (var i = 0; i < count; i++)
        {
            var (name, role) = i < Names.Length ? Names[i] : ($"agent-{i + 1}", "support");
            var replicas = (pods / count) + (i < pods % count ? 1 : 0);
            kinds.Add(new AgentKind(name, role, replicas, Slow: count > 1 && i == 0));
        }

        return kinds;
    }
}

/// <summary>
/// The fleet's traffic generator: once an injected pod of the fleet runs with every container ready,
/// hands its agent work like a real agent's, which the agent reports to its sidecar inside the pod.
/// </summary>
internal sealed class FleetRunner(KubernetesClient client, ControlPlane plane, string @namespace, IReadOnlyList<AgentKind> kinds)
{
    private readonly ConcurrentDictionary<string, Task> _agents = new();
    private int _ready;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var pods = await client.ListAsync(ResourceType.Pods, @namespace, KubernetesJsonContext.Default.KubernetesObject, cancellationToken: cancellationToken);
                foreach (var pod in pods.Items.Where(p => p.Metadata.Labels?.GetValueOrDefault("agentmetrics.io/injected") == "true"))
                {
                    _ = _agents.GetOrAdd(pod.Metadata.Name!, _ => Task.Run(() => AgentAsync(pod, cancellationToken), cancellationToken));
                }

                await Task.Delay(1000, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        try
        {
            await Task.WhenAll(_agents.Values);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Waits until <paramref name="count"/> agents are sending.</summary>
    public async Task WaitForAsync(int count, CancellationToken cancellationToken)
    {
        while (Volatile.Read(ref _ready) < count)
        {
            await Task.Delay(250, cancellationToken);
        }
    }

    private async Task AgentAsync(KubernetesObject pod, CancellationToken cancellationToken)
    {
        var name = pod.Metadata.Labels!["app.kubernetes.io/name"];
        var kind = kinds.First(k => k.Name == name);
        NodeAgent sidecar;
        try
        {
            sidecar = await NodeAgent.WaitUntilReadyAsync(plane, @namespace, pod.Metadata.Name!, TimeSpan.FromMinutes(3));
        }
        catch (TimeoutException e)
        {
            Console.Error.WriteLine($"agent {pod.Metadata.Name}: its pod did not become ready: {e.Message}");
            return;
        }

        await DefinitionsAsync(sidecar, cancellationToken);
        Interlocked.Increment(ref _ready);
        var random = new Random(pod.Metadata.Name!.GetHashCode(StringComparison.Ordinal));
        var traffic = new AgentTraffic(random.Next(), kind.Slow);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await PostAsync(pod, sidecar, traffic.NextBatch(random.Next(2, 7)));
                if (kind.Name == "support-agent")
                {
                    var refund = (5 + (random.NextDouble() * 120)).ToString("0.##", CultureInfo.InvariantCulture);
                    await PostAsync(
                        pod,
                        sidecar,
                        new StringBuilder("""{"type":"observation","metric":"refund_amount_dollars","value":""").Append(refund)
                            .Append(""","attributes":{"reason":"damaged"}}""").ToString());
                }

                await Task.Delay(700 + random.Next(600), cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                // Ctrl-C: the sidecars are stopping too.
                break;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
                // An agent keeps going when its sidecar is slow or briefly away, and says so.
                Console.Error.WriteLine($"agent {pod.Metadata.Name}: could not reach its sidecar: {e.Message}");
                await Task.Delay(1000, CancellationToken.None);
            }
        }
    }

    /// <summary>
    /// Waits (up to 30 s) for the sidecar to have its AgentMetricDefinitions from the operator, as an agent
    /// whose first observations are of custom metrics should: until then they are refused as undefined.
    /// </summary>
    private static async Task DefinitionsAsync(NodeAgent sidecar, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                if ((await sidecar.ScrapeAsync()).Split('\n').Any(line =>
                    line.StartsWith("agent_metrics_sidecar_definitions_stream_connected{", StringComparison.Ordinal) && line.EndsWith("} 1", StringComparison.Ordinal)))
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }

    /// <summary>Posts a batch as the agent would; a refusal is printed, because the sidecar's answer says what was wrong.</summary>
    private static async Task PostAsync(KubernetesObject pod, NodeAgent sidecar, string json)
    {
        using var response = await sidecar.PostEventsAsync(json);
        if (!response.IsSuccessStatusCode)
        {
            Console.Error.WriteLine(
                $"agent {pod.Metadata.Name}: the sidecar refused a batch with {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }
}
