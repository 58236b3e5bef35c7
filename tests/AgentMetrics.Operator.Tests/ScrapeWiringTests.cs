using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Operator.Discovery;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// Scrape mode in production: each namespace with injected agents gets its scrape configuration (a
/// PodMonitor, or a scrape-config ConfigMap), and the operator's HTTP service discovery lets a
/// Prometheus without Kubernetes discovery find every sidecar.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class ScrapeWiringTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(OutputMode.PrometheusOperator, "podmonitors.monitoring.coreos.com")]
    [InlineData(OutputMode.ConfigMaps, "configmaps")]
    public async Task TheScrapeConfigurationComesWithTheFirstInjectedAgentAndGoesWithTheLast(OutputMode mode, string kind)
    {
        await using var op = await OperatorHarness.StartAsync(new OutputOptions { Mode = mode });
        await using var ns = await op.Plane.CreateNamespaceAsync("scrape");
        await op.Plane.Kubectl.RunWithInputAsync(Pod("plain", injected: false).ToJsonString(), "apply", "-n", ns.Name, "-f", "-");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(await ExistsAsync(op, kind, ns.Name), "a namespace without injected agents got a scrape configuration");

        foreach (var name in new[] { "agent-0", "agent-1" })
        {
            await op.Plane.Kubectl.RunWithInputAsync(Pod(name, injected: true).ToJsonString(), "apply", "-n", ns.Name, "-f", "-");
        }

        await Eventually.UntilAsync(() => ExistsAsync(op, kind, ns.Name), Patience, $"the {kind} {Names.ScrapeObject}");
        var scrape = JsonNode.Parse(await op.Plane.Kubectl.RunAsync("get", kind, Names.ScrapeObject, "-n", ns.Name, "-o", "json"))!;
        Assert.Equal("true", (string?)scrape["metadata"]!["labels"]![Names.ScrapeConfigLabel]);
        if (mode == OutputMode.PrometheusOperator)
        {
            Assert.Equal("kube-prometheus-stack", (string?)scrape["metadata"]!["labels"]!["release"]);
            Assert.Equal("true", (string?)scrape["spec"]!["selector"]!["matchLabels"]![Names.InjectedLabel]);
        }

        await op.Plane.Kubectl.RunAsync("delete", "pod", "agent-0", "-n", ns.Name, "--grace-period=0", "--force", "--wait=false");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.True(await ExistsAsync(op, kind, ns.Name), "the scrape configuration went while an injected agent remained");

        await op.Plane.Kubectl.RunAsync("delete", "pod", "agent-1", "-n", ns.Name, "--grace-period=0", "--force", "--wait=false");
        await Eventually.UntilAsync(async () => !await ExistsAsync(op, kind, ns.Name), Patience, $"the {kind} to go with the last agent");
    }

    [Fact]
    public async Task SwitchingModesReplacesTheOtherModesScrapeConfiguration()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("scrape-modes");
        await using (var op = await OperatorHarness.StartAsync())
        {
            await plane.Kubectl.RunWithInputAsync(Pod("agent-0", injected: true).ToJsonString(), "apply", "-n", ns.Name, "-f", "-");
            await Eventually.UntilAsync(() => ExistsAsync(op, "podmonitors.monitoring.coreos.com", ns.Name), Patience, "the PodMonitor");
        }

        await using var configMaps = await OperatorHarness.StartAsync(new OutputOptions { Mode = OutputMode.ConfigMaps });
        await Eventually.UntilAsync(
            async () => await ExistsAsync(configMaps, "configmaps", ns.Name) && !await ExistsAsync(configMaps, "podmonitors.monitoring.coreos.com", ns.Name),
            Patience, "the scrape ConfigMap to replace the PodMonitor");
    }

    [Fact]
    public async Task APrometheusWithoutKubernetesDiscoveryScrapesTheSidecarsTheOperatorLists()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("http-sd");
        await using var other = await plane.CreateNamespaceAsync("http-sd-other");
        await using var op = await OperatorHarness.ServeAsync(plane, ns.Name);

        // Two running agent pods with their sidecars, each sidecar's metrics port on its pod's own address.
        var sidecars = new List<SidecarProcess>();
        try
        {
            foreach (var (name, @namespace) in new[] { ("agent-0", ns.Name), ("agent-1", ns.Name), ("elsewhere", other.Name) })
            {
                await plane.Kubectl.RunWithInputAsync(Pod(name, injected: true).ToJsonString(), "apply", "-n", @namespace, "-f", "-");
                var ip = await plane.MarkPodRunningAsync(@namespace, name);
                sidecars.Add(await SidecarProcess.StartAsync(
                    name, ip, 9464,
                    new Dictionary<string, string> { ["AGENTMETRICS_NAMESPACE"] = @namespace, ["AGENTMETRICS_POD"] = name, ["AGENTMETRICS_AGENT"] = "support-agent" }));
            }

            // What the endpoint lists: the namespace asked for, each pod's address and identity.
            using var http = op.CreateHttpClient();
            var listed = JsonNode.Parse(await http.GetStringAsync(new Uri(op.Url, $"{ScrapeTargets.Path}?namespace={ns.Name}")))!.AsArray();
            Assert.Equal(
                [$"{sidecars[0].MetricsHost}:9464/agent-0", $"{sidecars[1].MetricsHost}:9464/agent-1"],
                listed.Select(g => $"{(string)g!["targets"]![0]!}/{(string)g["labels"]!["__meta_agentmetrics_pod"]!}"));
            Assert.All(listed, g => Assert.Equal("support-agent", (string?)g!["labels"]!["__meta_agentmetrics_agent"]));

            var directory = ProcessRegistry.Current.CreateDirectory("prometheus-http-sd");
            var ca = Path.Combine(directory, "operator-ca.pem");
            await File.WriteAllTextAsync(ca, plane.Pki.CaCertificate.ExportCertificatePem());
            var config = $"""
                global: {"{"}scrape_interval: 1s, evaluation_interval: 1s{"}"}
                scrape_configs:
                - job_name: agent-metrics
                  honor_labels: true
                  http_sd_configs:
                  - url: "{new Uri(op.Url, $"{ScrapeTargets.Path}?namespace={ns.Name}")}"
                    refresh_interval: 1s
                    tls_config: {"{"}ca_file: "{ca}"{"}"}
                """;
            await using var prometheus = await PrometheusServer.StartAsync(config);

            await Eventually.UntilAsync(
                async () => (await prometheus.QueryAsync("up{job=\"agent-metrics\"} == 1")).GetArrayLength() == 2,
                TimeSpan.FromSeconds(60), "Prometheus to scrape both sidecars of the namespace");
            var pods = await prometheus.WaitForResultAsync($"count by (pod) (agent_metrics_sidecar_series{{namespace=\"{ns.Name}\"}})", Patience);
            Assert.Equal(["agent-0", "agent-1"], pods.EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("pod").GetString()).Order(StringComparer.Ordinal));
            Assert.Equal(0, (await prometheus.QueryAsync("agent_metrics_sidecar_series{pod=\"elsewhere\"}")).GetArrayLength());
        }
        finally
        {
            foreach (var sidecar in sidecars)
            {
                await sidecar.DisposeAsync();
            }
        }
    }

    [Fact]
    public void OnlyRunningInjectedPodsWithAnAddressAreListed()
    {
        Kubernetes.Models.KubernetesObject Stored(string name, bool injected, string? phase, string? ip, bool deleting = false)
        {
            var pod = Pod(name, injected);
            pod["metadata"]!["namespace"] = "agents";
            if (deleting)
            {
                pod["metadata"]!["deletionTimestamp"] = "2026-12-01T10:00:00Z";
            }

            pod["status"] = new JsonObject { ["phase"] = phase, ["podIP"] = ip };
            return JsonSerializer.Deserialize(pod.ToJsonString(), Kubernetes.Models.KubernetesJsonContext.Default.KubernetesObject)!;
        }

        var targets = ScrapeTargets.Of(
        [
            Stored("running", true, "Running", "10.1.0.5"),
            Stored("ipv6", true, "Running", "fd00::5"),
            Stored("pending", true, "Pending", null),
            Stored("no-sidecar", false, "Running", "10.1.0.6"),
            Stored("leaving", true, "Running", "10.1.0.7", deleting: true),
        ]);

        Assert.Equal(["[fd00::5]:9464", "10.1.0.5:9464"], targets.Select(g => (string)g!["targets"]![0]!));
        Assert.Empty(ScrapeTargets.Of([Stored("running", true, "Running", "10.1.0.5")], "billing"));
    }

    private static async Task<bool> ExistsAsync(OperatorHarness op, string kind, string @namespace) =>
        (await op.Plane.Kubectl.TryRunAsync(null, "get", kind, Names.ScrapeObject, "-n", @namespace)).ExitCode == 0;

    /// <summary>An agent pod as stored after admission: with the injected sidecar (its metrics port and identity) or without.</summary>
    private static JsonObject Pod(string name, bool injected)
    {
        var containers = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "example.invalid/agent:1" });
        if (injected)
        {
            containers.Add(new JsonObject
            {
                ["name"] = Names.SidecarContainer,
                ["image"] = "example.invalid/agent-metrics-sidecar:test",
                ["ports"] = new JsonArray(new JsonObject { ["name"] = Names.MetricsPortName, ["containerPort"] = 9464, ["protocol"] = "TCP" }),
                ["env"] = new JsonArray(new JsonObject
                {
                    ["name"] = "AGENTMETRICS_AGENT",
                    ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.labels['app.kubernetes.io/name']" } },
                }),
            });
        }

        var labels = new JsonObject { ["app.kubernetes.io/name"] = "support-agent" };
        if (injected)
        {
            labels[Names.InjectedLabel] = "true";
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = labels },
            ["spec"] = new JsonObject { ["containers"] = containers },
        };
    }
}
