using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// top through a real kube-apiserver's service proxy, with the kubeconfig: a Service whose Endpoints name a
/// Pod at this machine's own (non-loopback) address, where a real Prometheus scraping the fleet listens.
/// The API server refuses loopback endpoints and proxies only to an address a pod of the Service has, so
/// the Pod's status is written as a kubelet would write it.
/// </summary>
[Collection(TopFleet.Collection)]
public sealed class TopServiceProxyTests(TopFleet fleet)
{
    [Fact]
    public async Task ThroughTheServiceProxyTopShowsTheFleetAndAMissingServiceIsAClearError()
    {
        var address = NonLoopbackAddress();
        await using var prometheus = await PrometheusServer.StartOnAsync(address, fleet.Config, null);
        var plane = await ControlPlane.SharedAsync();
        await using var monitoring = await plane.CreateNamespaceAsync("monitoring");
        var port = prometheus.Url.Port.ToString(CultureInfo.InvariantCulture);
        await plane.Kubectl.RunWithInputAsync(
            $$"""
            apiVersion: v1
            kind: Pod
            metadata: {name: prometheus-0, namespace: {{monitoring}}}
            spec:
              nodeName: nowhere
              containers: [{name: prometheus, image: prometheus, ports: [{name: web, containerPort: {{port}} }]}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: prometheus, namespace: {{monitoring}}}
            spec:
              ports: [{name: web, port: 9090, targetPort: {{port}} }]
            ---
            apiVersion: v1
            kind: Endpoints
            metadata: {name: prometheus, namespace: {{monitoring}}}
            subsets:
            - addresses: [{ip: "{{address}}", targetRef: {kind: Pod, namespace: {{monitoring}}, name: prometheus-0 } }]
              ports: [{name: web, port: {{port}} }]
            """,
            "apply", "-f", "-");
        await plane.Kubectl.RunAsync(
            "patch", "pod", "prometheus-0", "-n", monitoring.Name, "--subresource=status", "--type=merge",
            "-p", $$$"""{"status":{"phase":"Running","podIP":"{{{address}}}","podIPs":[{"ip":"{{{address}}}"}]}}""");
        await prometheus.WaitForResultAsync("sum by (agent) (rate(agent_tasks_total[30s]))", TimeSpan.FromSeconds(30));

        KubectlResult result = new(-1, "", "");
        await Eventually.UntilAsync(
            async () =>
            {
                result = await Plugin.RunAsync(["top", "--once", "--kubeconfig", plane.KubeconfigPath, "--prometheus-service", $"{monitoring}/prometheus:9090"]);
                return result.ExitCode == 0 && TopTests.Order(result.Stdout).Count == TopFleet.Agents.Count;
            },
            TimeSpan.FromSeconds(30),
            "every agent through the service proxy");

        Assert.Contains($"service {monitoring}/prometheus:9090 via {plane.ApiServer.Url.GetLeftPart(UriPartial.Authority)}", result.Stdout, StringComparison.Ordinal);
        Assert.Equal("checkout-agent", TopTests.Order(result.Stdout)[0]);

        // The port by its name, as kubectl accepts it, reaches the same Service.
        var named = await Plugin.RunAsync(["top", "--once", "--kubeconfig", plane.KubeconfigPath, "--prometheus-service", $"{monitoring}/prometheus:web"]);
        Assert.True(named.ExitCode == 0, named.Stderr);

        // report reaches Prometheus the same way: its queries come back, answered (the fleet has no hour recorded yet).
        var report = await Plugin.RunAsync(["report", "--kubeconfig", plane.KubeconfigPath, "--prometheus-service", $"{monitoring}/prometheus:web", "--since", "1h", "-o", "json"]);
        Assert.True(report.ExitCode == 0, report.Stderr);
        Assert.NotNull(System.Text.Json.Nodes.JsonNode.Parse(report.Stdout)?["agents"]);

        var missing = await Plugin.RunAsync(["top", "--once", "--kubeconfig", plane.KubeconfigPath, "--prometheus-service", $"{monitoring}/nothing:9090"]);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"could not proxy to {monitoring}/nothing:9090: 404 NotFound", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("services \"nothing\" not found", missing.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("top", "--once")]
    [InlineData("report", "--since=7d")]
    public async Task AnUnreadableKubeconfigIsBadUsage(string command, string option)
    {
        var result = await Plugin.RunAsync([command, option, "--kubeconfig", Path.Combine(Plugin.Directory("kubeconfig"), "absent")]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("kubectl-agentmetrics: --kubeconfig: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("--prometheus", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>An IPv4 address of this machine outside 127.0.0.0/8, which the API server accepts in Endpoints.</summary>
    private static string NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a) && !a.ToString().StartsWith("169.254.", StringComparison.Ordinal))
            ?.ToString()
        ?? throw new MissingDependencyException("the service-proxy test needs an IPv4 address of this machine outside 127.0.0.0/8 (any network interface)");
}
