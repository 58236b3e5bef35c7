using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Operator.Discovery;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The operator in-cluster on a real node, installed from config/ as a user installs it: its pod runs
/// from its image under its service account, the API server calls its webhook through its Service,
/// agent Deployments get the sidecar, a Prometheus finds the sidecars through the operator pod's
/// service discovery, and each sidecar follows the definitions stream of the operator's pod, also
/// across the pod's replacement. docs/local-cluster.md describes the node.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class InClusterTests(ITestOutputHelper output)
{
    private const string System = "agent-metrics-system";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task TheOperatorsPodInjectsAgentDeploymentsAndStreamsDefinitionsToTheirSidecarsAcrossItsReplacement()
    {
        var node = await LocalNode.SharedInClusterAsync();
        var plane = node.Plane;
        await plane.InstallPrometheusOperatorCrdsAsync();
        var manifests = await InstallAsync(node);
        try
        {
            await WaitUntilRolledOutAsync(plane, System, "agent-metrics-operator");
            await using var agents = await plane.CreateNamespaceAsync("agents", InjectionTests.OptedIn);
            await plane.Kubectl.RunWithInputAsync(Definition("counter"), "apply", "-n", agents.Name, "-f", "-");
            await plane.Kubectl.RunWithInputAsync(AgentDeployment("support", 2).ToJsonString(), "apply", "-n", agents.Name, "-f", "-");
            await WaitUntilRolledOutAsync(plane, agents.Name, "support");
            var pods = await ReadyPodsAsync(plane, agents.Name, "support", 2);
            output.WriteLine(await plane.Kubectl.RunAsync("get", "pods", "-A", "-o", "wide"));

            // Each pod got the sidecar from the webhook in the operator's pod and runs it as injected.
            foreach (var pod in pods)
            {
                var sidecar = pod["spec"]!["containers"]!.AsArray().Single(c => (string?)c!["name"] == Names.SidecarContainer)!;
                Assert.Equal(NodeImages.Sidecar, (string)sidecar["image"]!);
                Assert.Equal(65532, (long)sidecar["securityContext"]!["runAsUser"]!);
            }

            // The agents post to 127.0.0.1 in their pods; the custom metric exists only because the
            // sidecar got its definition over the operator pod's stream.
            var metrics = pods.Select(p => new Uri($"http://{(string)p["status"]!["podIP"]!}:9464/metrics")).ToList();
            foreach (var url in metrics)
            {
                await Eventually.UntilAsync(
                    async () =>
                    {
                        var exposition = await Http.GetStringAsync(url);
                        return Exposition.Sum(exposition, "agent_tasks_total") > 0 && Exposition.Sum(exposition, "tickets_closed_total") > 0;
                    },
                    Patience,
                    $"the agent's tasks and the custom metric tickets_closed on {url}");
            }

            await ScrapeThroughTheOperatorAsync(plane, agents.Name, pods);
            await AssertTheOperatorLogsJsonWithTimestampsAsync(plane);

            // The operator's pod goes away: the sidecars keep their definitions, and follow the new pod's stream.
            // Until the new pod's stream is back in every sidecar, each keeps its one definition, and the
            // agents' observations of the custom metric keep being counted.
            var first = await OperatorPodAsync(plane);
            var counted = new List<double>();
            foreach (var url in metrics)
            {
                counted.Add(Exposition.Sum(await Http.GetStringAsync(url), "tickets_closed_total"));
            }

            await plane.Kubectl.RunAsync("delete", "pod", first, "-n", System, "--wait=false");
            var deleted = Stopwatch.StartNew();
            var disconnected = new Dictionary<Uri, TimeSpan>();
            var reconnected = new Dictionary<Uri, TimeSpan>();
            TimeSpan? stopped = null;
            await Eventually.UntilAsync(
                async () =>
                {
                    // A stream seen down and then up again, or up once the first pod's operator has
                    // stopped, is the new pod's: the first one's stops listening as it shuts down.
                    stopped ??= await HasStoppedAsync(plane, first) ? deleted.Elapsed : null;
                    foreach (var url in metrics)
                    {
                        var exposition = await Http.GetStringAsync(url);
                        Assert.Equal(1, Exposition.Sum(exposition, "agent_metrics_sidecar_definitions"));
                        if (Exposition.Sum(exposition, "agent_metrics_sidecar_definitions_stream_connected") != 1)
                        {
                            disconnected.TryAdd(url, deleted.Elapsed);
                        }
                        else if (disconnected.ContainsKey(url) || stopped is not null)
                        {
                            reconnected.TryAdd(url, deleted.Elapsed);
                        }
                    }

                    return reconnected.Count == metrics.Count;
                },
                Patience,
                "every sidecar connected to the new operator pod",
                TimeSpan.FromMilliseconds(100));
            output.WriteLine(
                "after the delete: " + string.Join("; ", metrics.Select(url =>
                    $"{url.Host} disconnected at {(disconnected.TryGetValue(url, out var down) ? $"{down.TotalSeconds:0.0} s" : "(not seen)")}, "
                    + $"connected to the new pod at {reconnected[url].TotalSeconds:0.0} s"))
                + $"; the kubelet reported the first pod's operator stopped at {(stopped is { } at ? $"{at.TotalSeconds:0.0} s" : "(not yet)")}");
            for (var i = 0; i < metrics.Count; i++)
            {
                Assert.True(Exposition.Sum(await Http.GetStringAsync(metrics[i]), "tickets_closed_total") > counted[i], $"tickets_closed stopped counting on {metrics[i]}");
            }

            // A change now can only come over the new pod's stream.
            await plane.Kubectl.RunWithInputAsync(Definition("gauge"), "apply", "-n", agents.Name, "-f", "-");
            foreach (var url in metrics)
            {
                await Eventually.UntilAsync(
                    async () => (await Http.GetStringAsync(url)).Contains("# TYPE tickets_closed gauge", StringComparison.Ordinal),
                    Patience,
                    $"the changed definition from the new operator pod on {url}");
            }

            output.WriteLine(await plane.Kubectl.RunAsync("get", "pods", "-A", "-o", "wide"));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            var described = await plane.Kubectl.TryRunAsync(null, "describe", "pods", "-n", System);
            var logs = await plane.Kubectl.TryRunAsync(null, "logs", "deployment/agent-metrics-operator", "-n", System, "--tail=40");
            throw new TimeoutException($"{e.Message}\n{described.Stdout}{described.Stderr}\nthe operator's log:\n{logs.Stdout}{logs.Stderr}", e);
        }
        finally
        {
            await plane.Kubectl.TryRunAsync(manifests, "delete", "--ignore-not-found", "--wait=false", "-f", "-");
        }
    }

    /// <summary>
    /// A Prometheus on the host, without Kubernetes discovery, finds the sidecars through the operator
    /// pod's HTTP service discovery and scrapes each at its pod's address, custom metric included.
    /// </summary>
    private async Task ScrapeThroughTheOperatorAsync(ControlPlane plane, string @namespace, List<JsonNode> pods)
    {
        var operatorIp = await plane.Kubectl.RunAsync(
            "get", "pods", "-n", System, "-l", "app.kubernetes.io/name=agent-metrics-operator", "-o", "jsonpath={.items[0].status.podIP}");
        var caBundle = await plane.Kubectl.RunAsync(
            "get", "mutatingwebhookconfiguration", "agent-metrics", "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}");
        var directory = ProcessRegistry.Current.CreateDirectory("prometheus-in-cluster");
        var ca = Path.Combine(directory, "operator-ca.pem");
        await File.WriteAllBytesAsync(ca, Convert.FromBase64String(caBundle.Trim()));
        // The host cannot resolve the Service's name; the certificate is for it, so Prometheus names it.
        var config = $$"""
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            scrape_configs:
            - job_name: agent-metrics
              honor_labels: true
              http_sd_configs:
              - url: "https://{{operatorIp.Trim()}}:9443{{ScrapeTargets.Path}}?namespace={{@namespace}}"
                refresh_interval: 1s
                tls_config: {ca_file: "{{ca}}", server_name: "agent-metrics-operator.{{System}}.svc"}
            """;
        await using var prometheus = await PrometheusServer.StartAsync(config);
        await Eventually.UntilAsync(
            async () => (await prometheus.QueryAsync("up{job=\"agent-metrics\"} == 1")).GetArrayLength() == pods.Count,
            Patience, "Prometheus to scrape every sidecar the operator's pod lists");
        var scraped = await prometheus.WaitForResultAsync($"count by (pod) (tickets_closed_total{{namespace=\"{@namespace}\"}})", Patience);
        Assert.Equal(
            pods.Select(p => (string)p["metadata"]!["name"]!).Order(StringComparer.Ordinal),
            scraped.EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("pod").GetString()!).Order(StringComparer.Ordinal));
        output.WriteLine($"Prometheus scraped tickets_closed_total from {scraped.GetArrayLength()} pods through the operator pod's service discovery at {operatorIp.Trim()}");
    }

    /// <summary>
    /// Renders config/ as <c>kubectl kustomize</c> does and applies it, changed only where the local
    /// node needs it; returns what was applied, for deleting it again.
    /// </summary>
    private static async Task<string> InstallAsync(LocalNode node)
    {
        var rendered = await node.Plane.Kubectl.RunAsync("kustomize", RepoPaths.Combine("config"));
        var objects = new JsonArray();
        foreach (var document in rendered.Split("\n---\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var manifest = YamlJson.Parse(document)!.AsObject();
            // The CRDs are installed with the plane already.
            if ((string?)manifest["kind"] == "CustomResourceDefinition")
            {
                continue;
            }

            if ((string?)manifest["kind"] == "Deployment" && (string?)manifest["metadata"]!["name"] == "agent-metrics-operator")
            {
                ForTheLocalNode(manifest, node);
            }

            objects.Add(manifest);
        }

        var list = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = objects }.ToJsonString();
        await node.Plane.Kubectl.RunWithInputAsync(list, "apply", "-f", "-");
        return list;
    }

    /// <summary>The changes to the operator's Deployment the local node needs, and why each.</summary>
    private static void ForTheLocalNode(JsonObject deployment, LocalNode node)
    {
        var spec = deployment["spec"]!;
        // One replica: the node has two cores, and the test replaces the one pod to see sidecars follow.
        spec["replicas"] = 1;
        var pod = spec["template"]!["spec"]!;
        // Only pods naming the node's scheduler are bound to it.
        pod["schedulerName"] = LocalNode.SchedulerName;
        var container = pod["containers"]![0]!;
        // Nothing can be pulled: the image is the one make images built and the node imported.
        container["image"] = NodeImages.Operator;
        container["imagePullPolicy"] = "Never";
        var args = container["args"]!.AsArray();
        foreach (var arg in args.Where(a => ((string)a!).StartsWith("--sidecar-image=", StringComparison.Ordinal)).ToList())
        {
            args.Remove(arg);
        }

        args.Add($"--sidecar-image={NodeImages.Sidecar}");
        // The sidecars resolve the Service's name to the operator pod's address (there is no
        // kube-proxy to route a cluster IP), so they must use the pod's port, not the Service's 443.
        args.Add($"--sidecar-operator-url=https://agent-metrics-operator.{System}.svc:9443");
        // The kubelet points a pod at the kubernetes Service's cluster IP, which nothing routes here;
        // its endpoint, the API server at the node's address, is what kube-proxy would route it to.
        var env = container["env"]!.AsArray();
        env.Add(new JsonObject { ["name"] = "KUBERNETES_SERVICE_HOST", ["value"] = node.ApiServerUrl.Host });
        env.Add(new JsonObject { ["name"] = "KUBERNETES_SERVICE_PORT", ["value"] = node.ApiServerUrl.Port.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>A Deployment of agents, as a user writes it, on the local node.</summary>
    private static JsonObject AgentDeployment(string name, int replicas) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject
                {
                    ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name, ["agentmetrics.io/role"] = name },
                },
                ["spec"] = new JsonObject
                {
                    ["schedulerName"] = LocalNode.SchedulerName,
                    ["terminationGracePeriodSeconds"] = 5,
                    // Restricted as the sidecar is, read-only root included: the agent writes nothing.
                    ["containers"] = new JsonArray(ObservingAgent()),
                },
            },
        },
    };

    /// <summary>The example agent finishing a task every 500 ms and observing the custom metric after each.</summary>
    private static JsonObject ObservingAgent()
    {
        var container = NodeAgent.Container(intervalMs: 500);
        container["env"]!.AsArray().Add(new JsonObject
        {
            ["name"] = "AGENT_OBSERVATION",
            ["value"] = """{"type":"observation","metric":"tickets_closed","value":1,"attributes":{"queue":"billing"}}""",
        });
        return container;
    }

    private static string Definition(string type) => $$"""
        apiVersion: agentmetrics.io/v1alpha1
        kind: AgentMetricDefinition
        metadata: {name: tickets}
        spec:
          selector:
            matchLabels: {agentmetrics.io/role: support}
          metric: {name: tickets_closed, type: {{type}}, help: Tickets closed by the agent.}
          source: {kind: Event, name: tickets_closed, labels: [queue]}
        """;

    private static async Task WaitUntilRolledOutAsync(ControlPlane plane, string @namespace, string deployment)
    {
        var result = await plane.Kubectl.TryRunAsync(
            null, "rollout", "status", $"deployment/{deployment}", "-n", @namespace, $"--timeout={Patience.TotalSeconds:0}s");
        if (result.ExitCode != 0)
        {
            throw new TimeoutException($"deployment {@namespace}/{deployment} did not roll out: {result.Stdout}{result.Stderr}");
        }
    }

    /// <summary>The Deployment's pods once exactly <paramref name="count"/> of them have every container ready.</summary>
    private static async Task<List<JsonNode>> ReadyPodsAsync(ControlPlane plane, string @namespace, string name, int count)
    {
        List<JsonNode> pods = [];
        await Eventually.UntilAsync(
            async () =>
            {
                var list = JsonNode.Parse(await plane.Kubectl.RunAsync("get", "pods", "-n", @namespace, "-l", $"app.kubernetes.io/name={name}", "-o", "json"))!;
                pods = [.. list["items"]!.AsArray().Select(p => p!)];
                return pods.Count == count && pods.All(p =>
                    (p["status"]?["containerStatuses"]?.AsArray() ?? []) is { Count: 2 } statuses && statuses.All(s => (bool)s!["ready"]!));
            },
            Patience,
            $"{count} pods of {name} to be 2/2 ready",
            TimeSpan.FromMilliseconds(500));
        return pods;
    }

    /// <summary>
    /// Whether the pod's container has terminated, or the pod is gone: the kubelet here removed a
    /// deleted pod as much as 45 s after its container had stopped.
    /// </summary>
    private static async Task<bool> HasStoppedAsync(ControlPlane plane, string pod)
    {
        var result = await plane.Kubectl.TryRunAsync(null, "get", "pod", pod, "-n", System, "-o", "json");
        if (result.ExitCode != 0)
        {
            return result.Stderr.Contains("NotFound", StringComparison.Ordinal) ? true : throw new InvalidOperationException(result.Stderr);
        }

        var statuses = JsonNode.Parse(result.Stdout)!["status"]?["containerStatuses"]?.AsArray() ?? [];
        return statuses.Count > 0 && statuses.All(s => s?["state"]?["terminated"] is not null);
    }

    /// <summary>Every line the operator's pod logged is a JSON object with a UTC timestamp of this run.</summary>
    private static async Task AssertTheOperatorLogsJsonWithTimestampsAsync(ControlPlane plane)
    {
        var logs = await plane.Kubectl.RunAsync("logs", "deployment/agent-metrics-operator", "-n", System, "--tail=20");
        var lines = logs.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var entry = JsonDocument.Parse(line);
            var stamp = entry.RootElement.GetProperty("Timestamp").GetString();
            Assert.True(
                DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) && at.Offset == TimeSpan.Zero
                    && Math.Abs((DateTimeOffset.UtcNow - at).TotalHours) < 1,
                $"the log line's Timestamp is not a UTC time of this run: {line}");
        }
    }

    private static async Task<string> OperatorPodAsync(ControlPlane plane) =>
        await plane.Kubectl.RunAsync(
            "get", "pods", "-n", System, "-l", "app.kubernetes.io/name=agent-metrics-operator",
            "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}");
}
