using System.Globalization;
using System.Text.Json.Nodes;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The injected pod on a real node: the operator's webhook adds the sidecar, the scheduler binds
/// the pod, the kubelet runs both containers from the images <c>make images</c> built, with the
/// injector's security context and probes, and restarts the sidecar when it dies.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class NodeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task AnInjectedAgentPodRunsOnTheNodeReportsThroughItsSidecarAndGetsItsSidecarBackAfterAKill()
    {
        var node = await LocalNode.SharedAsync();
        var plane = node.Plane;
        await using var system = await plane.CreateNamespaceAsync("opsys");
        await using var agents = await plane.CreateNamespaceAsync("agents", InjectionTests.OptedIn);
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name, configure: s => s with { SidecarImage = NodeImages.Sidecar });
        await using var hook = await InjectionTests.RegisterAsync(plane, agents.Name, app.Url, plane.Pki.CaPem);

        await plane.Kubectl.RunWithInputAsync(AgentPod("support").ToJsonString(), "apply", "-n", agents.Name, "-f", "-");
        var pod = await WaitUntilReadyAsync(plane, agents.Name, "support", restarts: 0);
        output.WriteLine(await plane.Kubectl.RunAsync("get", "pods", "-n", agents.Name, "-o", "wide"));
        var podIp = (string)pod["status"]!["podIP"]!;
        Assert.StartsWith(node.PodSubnet[..^"0/24".Length], podIp, StringComparison.Ordinal);
        var sidecar = pod["spec"]!["containers"]!.AsArray().Single(c => (string?)c!["name"] == Names.SidecarContainer)!;
        Assert.Equal(65532, (long)sidecar["securityContext"]!["runAsUser"]!);
        Assert.True((bool)sidecar["securityContext"]!["readOnlyRootFilesystem"]!);

        // The agent posts to 127.0.0.1 inside the pod; the host scrapes the sidecar at the pod's address.
        var metrics = new Uri($"http://{podIp}:9464/metrics");
        await Eventually.UntilAsync(async () => Tasks(await Http.GetStringAsync(metrics)) > 0, Patience, "the agent's tasks on the sidecar's /metrics");

        await Eventually.UntilAsync(
            async () => (await node.GetFromKubeletAsync("/metrics/cadvisor")).Split('\n').Any(line =>
                line.StartsWith("container_memory_working_set_bytes{", StringComparison.Ordinal)
                && line.Contains($"container=\"{Names.SidecarContainer}\"", StringComparison.Ordinal)
                && line.Contains("pod=\"support\"", StringComparison.Ordinal)),
            Patience,
            "the kubelet's cAdvisor series of the sidecar container",
            TimeSpan.FromSeconds(1));

        // Killed as an out-of-memory kill would: the kubelet starts it again, and it counts from zero.
        var containerId = ContainerId(pod, Names.SidecarContainer);
        await node.Containerd.CtrAsync("tasks", "kill", "--signal", "SIGKILL", containerId);
        pod = await WaitUntilReadyAsync(plane, agents.Name, "support", restarts: 1);
        Assert.NotEqual(containerId, ContainerId(pod, Names.SidecarContainer));
        await Eventually.UntilAsync(async () => Tasks(await Http.GetStringAsync(metrics)) > 0, Patience, "the restarted sidecar's /metrics");
        output.WriteLine(await plane.Kubectl.RunAsync("get", "pods", "-n", agents.Name, "-o", "wide"));
    }

    /// <summary>An agent pod as a user writes it: one container, scheduled onto the local node.</summary>
    private static JsonObject AgentPod(string name) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name } },
        ["spec"] = new JsonObject
        {
            ["schedulerName"] = LocalNode.SchedulerName,
            ["serviceAccountName"] = "default",
            ["terminationGracePeriodSeconds"] = 5,
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "agent",
                ["image"] = NodeImages.ExampleAgent,
                ["imagePullPolicy"] = "Never",
                ["env"] = new JsonArray(new JsonObject { ["name"] = "AGENT_INTERVAL_MS", ["value"] = "200" }),
                ["securityContext"] = new JsonObject { ["runAsNonRoot"] = true, ["allowPrivilegeEscalation"] = false },
            }),
        },
    };

    /// <summary>Waits until every container of the pod is ready, with the sidecar restarted <paramref name="restarts"/> times.</summary>
    private static async Task<JsonNode> WaitUntilReadyAsync(ControlPlane plane, string @namespace, string name, int restarts)
    {
        JsonNode? pod = null;
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    pod = JsonNode.Parse(await plane.Kubectl.RunAsync("get", "pod", name, "-n", @namespace, "-o", "json"))!;
                    var statuses = pod["status"]?["containerStatuses"]?.AsArray() ?? [];
                    return statuses.Count == 2
                        && statuses.All(s => (bool)s!["ready"]!)
                        && statuses.Any(s => (string?)s!["name"] == Names.SidecarContainer && (int)s["restartCount"]! == restarts);
                },
                Patience,
                $"pod {name} to be 2/2 ready with {restarts} sidecar restarts",
                TimeSpan.FromMilliseconds(500));
        }
        catch (TimeoutException e)
        {
            var described = await plane.Kubectl.TryRunAsync(null, "describe", "pod", name, "-n", @namespace);
            var logs = await plane.Kubectl.TryRunAsync(null, "logs", name, "-n", @namespace, "-c", Names.SidecarContainer, "--tail=20");
            throw new TimeoutException($"{e.Message}\n{described.Stdout}{described.Stderr}\nthe sidecar's log:\n{logs.Stdout}{logs.Stderr}", e);
        }

        return pod!;
    }

    private static string ContainerId(JsonNode pod, string container) =>
        ((string)pod["status"]!["containerStatuses"]!.AsArray().Single(s => (string?)s!["name"] == container)!["containerID"]!)["containerd://".Length..];

    /// <summary>The sum of agent_tasks_total over its series.</summary>
    private static double Tasks(string exposition) =>
        exposition.Split('\n')
            .Where(line => line.StartsWith("agent_tasks_total{", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
