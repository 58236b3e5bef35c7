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
/// injector's security context and probes, and restarts the sidecar when it dies: its counters start
/// again from zero, and the operator's rate alert on them, in a Prometheus scraping the pod
/// throughout, does not take the reset for a surge.
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
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name, configure: s => s with { SidecarImage = NodeImages.Sidecar, Output = "configmaps" });
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
        await Eventually.UntilAsync(async () => Exposition.Sum(await Http.GetStringAsync(metrics), "agent_tasks_total") > 0, Patience, "the agent's tasks on the sidecar's /metrics");

        await Eventually.UntilAsync(
            async () => (await node.GetFromKubeletAsync("/metrics/cadvisor")).Split('\n').Any(line =>
                line.StartsWith("container_memory_working_set_bytes{", StringComparison.Ordinal)
                && line.Contains($"container=\"{Names.SidecarContainer}\"", StringComparison.Ordinal)
                && line.Contains("pod=\"support\"", StringComparison.Ordinal)),
            Patience,
            "the kubelet's cAdvisor series of the sidecar container",
            TimeSpan.FromSeconds(1));

        // A Prometheus scrapes the pod every second, with the operator's rules for a rate alert well
        // above the agent's 10 tasks a second.
        var rules = ProcessRegistry.Current.CreateDirectory("prometheus-rules");
        var config = $$"""
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: ["{{rules}}/*.yaml"]
            scrape_configs:
            - job_name: sidecar
              honor_labels: true
              static_configs: [{targets: ["{{podIp}}:9464"]}]
            """;
        await using var prometheus = await PrometheusServer.StartAsync(config);
        await plane.Kubectl.RunWithInputAsync(Surge, "apply", "-n", agents.Name, "-f", "-");
        await Eventually.UntilAsync(
            async () => await plane.Kubectl.RunAsync("get", "alertthreshold", "task-surge", "-n", agents.Name, "-o", "jsonpath={.status.conditions[0].reason}") == "RulesWritten",
            Patience, "the threshold's rules to be written");
        await PrometheusRules.SyncAsync(plane, prometheus, config, rules, interval: "1s");
        var alert = RuleRenderer.AlertName("task-surge");
        var rate = $"sum(rate(agent_tasks_total{{namespace=\"{agents.Name}\", pod=\"support\"}}[1m]))";
        await prometheus.WaitForResultAsync($"{rate} > 5", Patience);

        // Killed as an out-of-memory kill would: the kubelet starts it again, and it counts from zero.
        await Eventually.UntilAsync(async () => Exposition.Sum(await Http.GetStringAsync(metrics), "agent_tasks_total") >= 150, Patience, "150 tasks counted");
        var before = Exposition.Sum(await Http.GetStringAsync(metrics), "agent_tasks_total");
        var containerId = ContainerId(pod, Names.SidecarContainer);
        await node.Containerd.CtrAsync("tasks", "kill", "--signal", "SIGKILL", containerId);
        var killed = DateTimeOffset.UtcNow;
        pod = await WaitUntilReadyAsync(plane, agents.Name, "support", restarts: 1);
        Assert.NotEqual(containerId, ContainerId(pod, Names.SidecarContainer));
        var after = double.NaN;
        await Eventually.UntilAsync(async () => (after = Exposition.Sum(await Http.GetStringAsync(metrics), "agent_tasks_total")) > 0, Patience, "the restarted sidecar's /metrics");
        Assert.True(after < before, $"the restarted sidecar counts {after} tasks, not from zero (before the kill: {before})");
        output.WriteLine(await plane.Kubectl.RunAsync("get", "pods", "-n", agents.Name, "-o", "wide"));

        // Prometheus saw the reset (the series went down) and the rate across it stayed the agent's:
        // the alert neither fired nor went pending.
        await prometheus.WaitForResultAsync($"{rate} > 5", Patience);
        await Task.Delay(TimeSpan.FromSeconds(10));
        var window = $"{(int)(DateTimeOffset.UtcNow - killed).TotalSeconds + 30}s";
        var resets = await prometheus.QueryAsync($"sum(resets(agent_tasks_total{{pod=\"support\"}}[{window}]))");
        var peak = await prometheus.QueryAsync($"max_over_time({rate}[{window}:1s])");
        var alerts = await prometheus.QueryAsync($"ALERTS{{alertname=\"{alert}\"}} or max_over_time(ALERTS{{alertname=\"{alert}\"}}[{window}])");
        output.WriteLine($"over the last {window}: {resets} counter resets, the highest task rate {peak}, {alert}: {alerts}");
        Assert.True(double.Parse(resets[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) >= 1, "Prometheus saw no counter reset");
        Assert.True(double.Parse(peak[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture) < 40, $"the task rate across the restart reached {peak}");
        Assert.Equal(0, alerts.GetArrayLength());
    }

    /// <summary>A rate alert four times the agent's rate: a reset taken for a surge would fire it.</summary>
    private const string Surge = """
        apiVersion: agentmetrics.io/v1alpha1
        kind: AlertThreshold
        metadata: {name: task-surge}
        spec:
          metric: agent_tasks_total
          statistic: rate
          comparison: GreaterThan
          threshold: 40
          window: 1m
          for: 1s
          evaluationInterval: 1s
          severity: warning
        """;

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
                ["env"] = new JsonArray(new JsonObject { ["name"] = "AGENT_INTERVAL_MS", ["value"] = "100" }),
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
}
