using System.Diagnostics;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The sidecar process following the operator's definitions stream: custom metrics come and change
/// without a restart, and survive the operator going away.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class SidecarCustomMetricsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Definitions_take_effect_in_the_running_sidecar_and_outlive_an_operator_outage()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("sidecar");
        var operatorUrl = new Uri($"https://127.0.0.1:{LoopbackPorts.Next()}");
        var op = await OperatorHarness.ServeAsync(plane, ns.Name, url: operatorUrl);
        try
        {
            await plane.Kubectl.RunAsync("create", "serviceaccount", "agent", "-n", ns.Name);
            await DefinitionStreamTests.ApplyPodAsync(plane, ns.Name, "agent-0", "agent", "researcher");
            var directory = ProcessRegistry.Current.CreateDirectory("sidecar-secrets");
            var tokenFile = Path.Combine(directory, "token");
            await File.WriteAllTextAsync(tokenFile, await DefinitionStreamTests.TokenAsync(plane, ns.Name, "agent", "agent-0"));
            var caFile = Path.Combine(directory, "ca.crt");
            await File.WriteAllTextAsync(caFile, plane.Pki.CaPem);
            await using var sidecar = await SidecarProcess.StartAsync(
                "agent-0",
                new Dictionary<string, string> { ["AGENTMETRICS_NAMESPACE"] = ns.Name },
                $"--operator-url={operatorUrl}", $"--operator-ca-file={caFile}", $"--token-file={tokenFile}");
            const string Observation = """{"type":"observation","metric":"sources_read","value":2,"attributes":{"kind":"web"}}""";

            // Before any definition the observation names an undefined metric and is refused.
            Assert.Equal(422, (int)(await sidecar.PostEventsAsync(Observation)).StatusCode);

            await DefinitionStreamTests.ApplyAsync(plane, ns.Name, DefinitionStreamTests.Definition("sources", "sources_read", "counter", "researcher"));
            var applied = Stopwatch.StartNew();
            await Eventually.UntilAsync(
                async () => (await sidecar.PostEventsAsync(Observation)).IsSuccessStatusCode, Patience, "the new definition to reach the sidecar",
                TimeSpan.FromMilliseconds(20));
            output.WriteLine($"the definition took effect in the sidecar {applied.Elapsed.TotalMilliseconds:0} ms after kubectl apply returned");
            Assert.Contains("# TYPE sources_read_total counter", await sidecar.ScrapeAsync(), StringComparison.Ordinal);

            // The operator goes away: the sidecar keeps the definitions it had.
            await op.DisposeAsync();
            await Eventually.UntilAsync(
                async () => await sidecar.ValueAsync($"agent_metrics_sidecar_definitions_stream_connected{{namespace=\"{ns.Name}\"") == 0,
                Patience, "the sidecar to notice the operator is gone");
            Assert.True((await sidecar.PostEventsAsync(Observation)).IsSuccessStatusCode);
            Assert.Equal(1, await sidecar.ValueAsync($"agent_metrics_sidecar_definitions{{namespace=\"{ns.Name}\""));

            // A change made meanwhile arrives once the operator is back, with no restart of the sidecar.
            await DefinitionStreamTests.ApplyAsync(plane, ns.Name, DefinitionStreamTests.Definition("sources", "sources_read", "gauge", "researcher"));
            op = await OperatorHarness.ServeAsync(plane, ns.Name, url: operatorUrl);
            await Eventually.UntilAsync(
                async () => (await sidecar.PostEventsAsync(Observation)).IsSuccessStatusCode
                    && (await sidecar.ScrapeAsync()).Contains("# TYPE sources_read gauge", StringComparison.Ordinal),
                Patience, "the changed definition after the operator came back");
            Assert.Equal(1, await sidecar.ValueAsync($"agent_metrics_sidecar_definitions_stream_connected{{namespace=\"{ns.Name}\""));
        }
        finally
        {
            await op.DisposeAsync();
        }
    }
}
