using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The whole flow on real parts: the operator (its own CA, webhooks, configmaps output), the API server,
/// injected pods running on a real node (kubelet, containerd), each agent reporting to its sidecar over
/// 127.0.0.1 inside its pod, a real Prometheus taking the sidecars' pushes from the pods, loading the
/// operator's rules and scraping the kubelet's cAdvisor series, and a real Alertmanager. The operator
/// runs on the host here, as <c>make run</c> runs it; InClusterTests runs it as a pod.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class EndToEndTests(ITestOutputHelper output)
{
    private const int Agents = 6;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DefinitionsInjectionMetricsAlertsDashboardsAndTheFlagWorkTogether()
    {
        var node = await LocalNode.SharedAsync();
        var plane = node.Plane;
        await using var system = await plane.CreateNamespaceAsync("e2esys");
        await using var agents = await plane.CreateNamespaceAsync("e2e", InjectionTests.OptedIn);
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var alertmanager = await AlertmanagerServer.StartAsync(receiver.Url);
        var rules = ProcessRegistry.Current.CreateDirectory("prometheus-rules");
        var config = PrometheusRules.Config(rules, alertmanager.Url, node.KubeletUrl, node.CaFile, "1s");
        // At the node's address, where the pods' sidecars push to it.
        // A firing alert is sent again every second, not every minute: the rule reload can drop the first send.
        await using var prometheus = await PrometheusServer.StartOnAsync(
            node.Address, config, PrometheusRules.LastWeek(agents.Name), "--storage.tsdb.retention.time=90d", "--rules.alert.resend-delay=1s");

        // The operator listens at the node's address too: the API server calls its webhook there, and the
        // sidecars follow its definitions stream there.
        var url = new Uri($"https://{node.Address}:{LoopbackPorts.Next()}");
        var webhook = $"agent-metrics-test-{agents.Name}";
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name, url: url, configure: s => s with
        {
            Output = "configmaps",
            WebhookCertificates = "self",
            WebhookHosts = node.Address,
            WebhookConfigurations = webhook,
            SidecarMode = "push",
            RemoteWriteUrl = prometheus.RemoteWriteUrl.ToString(),
            SidecarOperatorUrl = url.ToString(),
            SidecarImage = NodeImages.Sidecar,
        });
        await using var hook = await InjectionTests.RegisterAsync(plane, agents.Name, url, app.Certificates.CaBundle!);

        // A custom metric for the support agents, then the agents: injected, and run on the node.
        await plane.Kubectl.RunWithInputAsync(Definition, "apply", "-n", agents.Name, "-f", "-");
        for (var i = 0; i < Agents; i++)
        {
            var pod = await InjectionTests.CreatePodAsync(app.Client, agents.Name, AgentPod($"agent-{i}"));
            Assert.Equal(1, InjectionTests.Sidecars(pod));
        }

        var sidecars = new List<NodeAgent>();
        for (var i = 0; i < Agents; i++)
        {
            sidecars.Add(await NodeAgent.WaitUntilReadyAsync(plane, agents.Name, $"agent-{i}", Patience));
        }

        output.WriteLine(await plane.Kubectl.RunAsync("get", "pods", "-n", agents.Name, "-o", "wide"));

        // Within a second of the agent's call returning, the custom metric is in Prometheus.
        var lags = new List<double>();
        for (var n = 1; n <= 5; n++)
        {
            HttpResponseMessage? accepted = null;
            await Eventually.UntilAsync(
                async () => (accepted = await sidecars[0].PostEventsAsync("""{"type":"observation","metric":"tickets_closed","value":1,"attributes":{"queue":"billing"}}""")).IsSuccessStatusCode,
                Patience, "the sidecar to know the definition from the operator's stream");
            var returned = Stopwatch.StartNew();
            await Eventually.UntilAsync(
                async () => (await prometheus.QueryAsync($"tickets_closed_total{{namespace=\"{agents.Name}\", pod=\"agent-0\"}} == {n}")).GetArrayLength() > 0,
                Patience, $"observation {n} in Prometheus", TimeSpan.FromMilliseconds(10));
            lags.Add(returned.Elapsed.TotalMilliseconds);
        }

        var median = lags.Order().ElementAt(lags.Count / 2);
        output.WriteLine($"custom metric, event returned → queryable in Prometheus: {string.Join(", ", lags.Select(l => $"{l:0} ms"))}; median {median:0} ms");
        Assert.True(median < 1000, $"the custom metric took {median:0} ms (median of 5) to be queryable");

        // The operator's rules go to Prometheus as its rule files; an alert fires in Alertmanager, and resolves.
        await plane.Kubectl.RunWithInputAsync(Threshold, "apply", "-n", agents.Name, "-f", "-");
        await Eventually.UntilAsync(
            async () => await plane.Kubectl.RunAsync("get", "alertthreshold", "deep-queue", "-n", agents.Name, "-o", "jsonpath={.status.conditions[0].reason}") == "RulesWritten",
            Patience, "the threshold's rules to be written");
        // The standing rules' 30 s interval becomes 1 s, so the test need not wait for them.
        await PrometheusRules.SyncAsync(plane, prometheus, config, rules, interval: "1s");
        var alert = RuleRenderer.AlertName("deep-queue");
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    await sidecars[1].PostEventsAsync("""{"type":"gauge","queue_depth":80}""");
                    return await ActiveAlertsAsync(alertmanager, alert) > 0;
                },
                Patience, $"{alert} to fire in Alertmanager", TimeSpan.FromMilliseconds(500));
        }
        catch (TimeoutException e)
        {
            using var http = new HttpClient();
            throw new TimeoutException(
                $"{e.Message}\nALERTS: {await prometheus.QueryAsync("ALERTS")}\nqueue: {await prometheus.QueryAsync("agent_queue_depth")}"
                + $"\nrule files: {string.Join(", ", Directory.GetFiles(rules).Select(Path.GetFileName))}"
                + $"\nrules: {await http.GetStringAsync(new Uri(prometheus.Url, "/api/v1/rules"))}", e);
        }

        // While it fires, agents work: every query of every dashboard returns data, its variables substituted.
        // A seed of each agent's own: rare outcomes (1 % each) then turn up among the fleet's 600 tasks, not just among 100 repeated six times.
        var traffic = Enumerable.Range(0, Agents).Select(i => new AgentTraffic(seed: 7 + i, slow: i == Agents - 1)).ToList();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < Agents; i++)
            {
                var response = await sidecars[i].PostEventsAsync(traffic[i].NextBatch(20));
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            }

            // The threshold's agent keeps its queue deep, so the alert fires throughout.
            await sidecars[1].PostEventsAsync("""{"type":"gauge","queue_depth":80}""");

            await Task.Delay(1000);
        }

        var dashboards = await DashboardsAsync(app.Client, system.Name, agents.Name);
        Assert.Equal(4, dashboards.Count);
        var empty = new List<string>();
        var deadline = DateTime.UtcNow + Patience;
        do
        {
            empty.Clear();

            // Agents keep working while the dashboards are read: a pass over every query takes long enough
            // that a 1m window would otherwise outlast the traffic above.
            for (var i = 0; i < Agents; i++)
            {
                await sidecars[i].PostEventsAsync(traffic[i].NextBatch(20));
            }

            await sidecars[1].PostEventsAsync("""{"type":"gauge","queue_depth":80}""");
            await sidecars[0].PostEventsAsync("""{"type":"observation","metric":"tickets_closed","value":1,"attributes":{"queue":"billing"}}""");

            foreach (var (title, expr) in dashboards.SelectMany(Queries).Where(q => !NeedsABaseline(q.Expr)))
            {
                JsonElement result;
                try
                {
                    result = await prometheus.QueryAsync(Substitute(expr, agents.Name));
                }
                catch (HttpRequestException e)
                {
                    throw new InvalidOperationException($"{title}: Prometheus refused {Substitute(expr, agents.Name)}", e);
                }

                if (result.GetArrayLength() == 0)
                {
                    empty.Add($"{title}: {Substitute(expr, agents.Name)}");
                }
            }

            if (empty.Count > 0)
            {
                await Task.Delay(1000);
            }
        }
        while (empty.Count > 0 && DateTime.UtcNow < deadline);
        Assert.True(empty.Count == 0, $"queries without data:\n{string.Join('\n', empty)}");
        output.WriteLine($"{dashboards.SelectMany(Queries).Count()} dashboard queries, each with data");

        // The detail dashboard's container panels read the kubelet's own cAdvisor series: both containers of each pod.
        var memory = await prometheus.QueryAsync(
            $"sum by (pod, container) (container_memory_working_set_bytes{{job=\"kubelet-cadvisor\", namespace=\"{agents.Name}\", pod=~\"agent-.*\", container!=\"\", container!=\"POD\"}})");
        Assert.Equal(2 * Agents, memory.GetArrayLength());
        output.WriteLine("working set from the kubelet's cAdvisor: " + string.Join(", ", memory.EnumerateArray().Select(r =>
            $"{r.GetProperty("metric").GetProperty("pod").GetString()}/{r.GetProperty("metric").GetProperty("container").GetString()} "
            + $"{double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture) / (1 << 20):0.0} MiB")));

        await Eventually.UntilAsync(
            async () =>
            {
                await sidecars[1].PostEventsAsync("""{"type":"gauge","queue_depth":0}""");
                return await ActiveAlertsAsync(alertmanager, alert) == 0;
            },
            Patience, $"{alert} to resolve", TimeSpan.FromMilliseconds(500));
        await receiver.WaitForAsync(
            d => d.GetProperty("status").GetString() == "resolved" && d.GetProperty("commonLabels").GetProperty("alertname").GetString() == alert,
            Patience, "the resolved notification");

        // The flag off: nothing new is injected and the outputs say so. On again: everything recovers.
        await plane.Kubectl.RunWithInputAsync(FlagConfigMap(system.Name, "false"), "apply", "-f", "-");
        await Eventually.UntilAsync(
            async () => await Reason(plane, agents.Name) == "FeatureDisabled", Patience, "the definition to say FeatureDisabled");
        var n2 = 0;
        await Eventually.UntilAsync(
            async () => InjectionTests.Sidecars(await InjectionTests.CreatePodAsync(app.Client, agents.Name, AgentPod($"off-{n2++}", onNode: false))) == 0,
            Patience, "a new pod without the sidecar");
        await plane.Kubectl.RunWithInputAsync(FlagConfigMap(system.Name, "true"), "apply", "-f", "-");
        await Eventually.UntilAsync(async () => await Reason(plane, agents.Name) == "Collecting", Patience, "the definition to collect again");
        KubernetesObject? late = null;
        var n3 = 0;
        await Eventually.UntilAsync(
            async () => InjectionTests.Sidecars(late = await InjectionTests.CreatePodAsync(app.Client, agents.Name, AgentPod($"on-{n3++}"))) == 1,
            Patience, "a new pod with the sidecar");
        var lateSidecar = await NodeAgent.WaitUntilReadyAsync(plane, agents.Name, late!.Metadata.Name!, Patience);
        await Eventually.UntilAsync(
            async () => (await lateSidecar.PostEventsAsync("""{"type":"observation","metric":"tickets_closed","value":3}""")).IsSuccessStatusCode,
            Patience, "the new pod's sidecar to accept the custom metric");
        await prometheus.WaitForResultAsync($"tickets_closed_total{{pod=\"{late!.Metadata.Name}\"}} == 3", Patience);
    }

    private static async Task<int> ActiveAlertsAsync(AlertmanagerServer alertmanager, string alertname)
    {
        using var http = new HttpClient();
        var alerts = JsonNode.Parse(await http.GetStringAsync(new Uri(alertmanager.Url, $"/api/v2/alerts?active=true&filter=alertname%3D%22{alertname}%22")))!;
        return alerts.AsArray().Count;
    }

    /// <summary>The three standing dashboards and the custom one of <paramref name="agents"/>; other tests' namespaces have theirs too.</summary>
    private static async Task<List<JsonObject>> DashboardsAsync(Kubernetes.Client.KubernetesClient client, string @namespace, string agents)
    {
        var wanted = new[] { "agent-metrics-fleet", "agent-metrics-agent", "agent-metrics-history", Dashboards.CustomUid(agents, 0) };
        List<JsonObject> dashboards = [];
        await Eventually.UntilAsync(
            async () =>
            {
                var list = await client.ListAsync(ResourceType.ConfigMaps, @namespace, KubernetesJsonContext.Default.KubernetesObject,
                    new Kubernetes.Client.ListOptions { LabelSelector = $"{Names.GrafanaDashboardLabel}=1" });
                dashboards = [.. list.Items.Select(c => JsonNode.Parse((string)c.Body["data"]!.AsObject().Single().Value!)!.AsObject())
                    .Where(d => wanted.Contains((string?)d["uid"]))];
                return dashboards.Count == 4;
            },
            Patience, "the four dashboards");
        return dashboards;
    }

    /// <summary>Every query a dashboard runs: panel targets, variable queries (as the series they list), and the alert annotation.</summary>
    private static IEnumerable<(string Title, string Expr)> Queries(JsonObject dashboard)
    {
        var title = (string)dashboard["title"]!;
        foreach (var panel in dashboard["panels"]!.AsArray())
        {
            foreach (var target in panel!["targets"]?.AsArray() ?? [])
            {
                yield return ($"{title} / {panel["title"]}", (string)target!["expr"]!);
            }
        }

        foreach (var variable in dashboard["templating"]!["list"]!.AsArray().Where(v => (string?)v!["type"] == "query"))
        {
            var query = (string)variable!["query"]!["query"]!;
            var inner = query["label_values(".Length..query.LastIndexOf(',')];
            yield return ($"{title} / variable {variable["name"]}", inner);
        }

        yield return ($"{title} / annotation", (string)dashboard["annotations"]!["list"]![0]!["expr"]!);
    }

    /// <summary>
    /// What Grafana sends for each variable: the namespace, every agent (the detail dashboard's single
    /// agent matched as any of them), every pod, the default top N, and the rate interval of a 15 s scrape.
    /// </summary>
    private static string Substitute(string expr, string @namespace) =>
        expr.Replace("$namespace", @namespace, StringComparison.Ordinal).Replace("agent=\"$agent\"", "agent=~\".*\"", StringComparison.Ordinal)
            .Replace("$agent", ".*", StringComparison.Ordinal)
            .Replace("$pod", ".*", StringComparison.Ordinal).Replace("$topn", $"{Dashboards.DefaultTopN}", StringComparison.Ordinal)
            .Replace("$__rate_interval", "1m", StringComparison.Ordinal).Replace("$anomaly", ".*", StringComparison.Ordinal);

    /// <summary>An anomaly threshold's band: its baseline is the hour or day before the last window, which a test this short never has.</summary>
    /// <remarks>Also the cost outliers: of this test's agents only one stands out, and by its response time.</remarks>
    private static bool NeedsABaseline(string expr) =>
        expr.Contains(":baseline_", StringComparison.Ordinal) || expr.Contains("threshold=~\"$anomaly\"", StringComparison.Ordinal)
        || (expr.StartsWith("namespace_agent:agent_task_cost_dollars:", StringComparison.Ordinal) && expr.EndsWith("> 2)", StringComparison.Ordinal));

    /// <summary>
    /// A support agent's pod; on the node unless <paramref name="onNode"/> is false, when it names no
    /// scheduler that runs and stays unbound (the test reads only what the webhook did to it).
    /// </summary>
    private static JsonObject AgentPod(string name, bool onNode = true)
    {
        var pod = InjectionTests.Pod(name);
        pod["metadata"]!["labels"]!["agentmetrics.io/agent"] = name.StartsWith("agent-", StringComparison.Ordinal) ? $"support-{name}" : "support-late";
        if (onNode)
        {
            var spec = pod["spec"]!;
            spec["schedulerName"] = LocalNode.SchedulerName;
            spec["terminationGracePeriodSeconds"] = 5;
            spec["containers"] = new JsonArray(NodeAgent.Container());
        }

        return pod;
    }

    private static Task<string> Reason(ControlPlane plane, string @namespace) =>
        plane.Kubectl.RunAsync("get", "agentmetricdefinition", "tickets", "-n", @namespace, "-o", "jsonpath={.status.conditions[0].reason}");

    private static string FlagConfigMap(string @namespace, string value) =>
        $"{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{Names.FlagConfigMap}\",\"namespace\":\"{@namespace}\"}},\"data\":{{\"{Names.FeatureFlag}\":\"{value}\"}}}}";

    private const string Definition = """
        apiVersion: agentmetrics.io/v1alpha1
        kind: AgentMetricDefinition
        metadata: {name: tickets}
        spec:
          selector:
            matchLabels: {agentmetrics.io/role: support}
          metric: {name: tickets_closed, type: counter, help: Tickets closed by the agent.}
          source: {kind: Event, name: tickets_closed, labels: [queue]}
        """;

    private const string Threshold = """
        apiVersion: agentmetrics.io/v1alpha1
        kind: AlertThreshold
        metadata: {name: deep-queue}
        spec:
          metric: agent_queue_depth
          statistic: value
          comparison: GreaterThan
          threshold: 50
          window: 1m
          for: 1s
          evaluationInterval: 1s
          severity: warning
        """;
}
