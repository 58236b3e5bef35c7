using System.Diagnostics;
using System.Text.Json;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>The reconcilers against the real API server, with samples applied by kubectl as a user would.</summary>
[Collection(OperatorCollection.Name)]
public sealed class ReconcileTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // The garbage collector works through a queue shared with every other test's deletions.
    private static readonly TimeSpan GarbageCollection = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task EverySampleGetsItsChildrenAndBecomesReady()
    {
        await using var op = await OperatorHarness.StartAsync();
        await using var ns = await op.Plane.CreateNamespaceAsync("samples");
        await op.Plane.Kubectl.RunAsync("run", "support-agent-0", "-n", ns.Name, "--image=example.invalid/agent:1", "--restart=Never",
            "--labels=app.kubernetes.io/name=support-agent,agentmetrics.io/role=researcher");
        var samples = RepoPaths.Combine("config", "samples");
        var clock = Stopwatch.StartNew();
        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", samples);

        var expected = Directory.GetFiles(samples, "*.yaml").Length;
        var applied = clock.Elapsed;
        await Eventually.UntilAsync(
            async () => (await op.Client.ListAsync(PrometheusOutput.PrometheusRules, ns.Name, Kubernetes.Models.KubernetesJsonContext.Default.KubernetesObject)).Items.Count == expected,
            Patience, $"{expected} PrometheusRules", TimeSpan.FromMilliseconds(10));
        output.WriteLine($"all {expected} children present {(clock.Elapsed - applied).TotalMilliseconds:0} ms after kubectl apply returned ({applied.TotalMilliseconds:0} ms for kubectl itself)");
        await Eventually.UntilAsync(
            async () => (await ReadyStates(op, ns.Name)).All(s => s.Ready == "True"), Patience, "every sample to be Ready");
        var states = await ReadyStates(op, ns.Name);
        Assert.Equal(expected, states.Count);
        Assert.All(states, s => Assert.Equal(s.Generation, s.Observed));
    }

    /// <summary>
    /// A reconcile whose rules object is stored as it would render sends no apply: a flip of the flag or
    /// a restart reconciles every object, and each apply is a write the API server processes even when it
    /// changes nothing. One that differs (edited by hand) is applied again.
    /// </summary>
    [Fact]
    public async Task AReconcileWhoseRulesAreStoredAsRenderedWritesNothingAndAnEditIsPutBack()
    {
        await using var op = await OperatorHarness.StartAsync();
        await using var ns = await op.Plane.CreateNamespaceAsync("unchanged");
        // The operator reconciles every namespace of the shared plane, so only this namespace's applies count.
        var applied = new System.Collections.Concurrent.ConcurrentQueue<string>();
        op.Runtime.Output.Applying += child =>
        {
            if (child.Metadata.Namespace == ns.Name)
            {
                applied.Enqueue(child.Metadata.Name!);
            }
        };
        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", RepoPaths.Combine("config", "samples", "alertthreshold-error-rate.yaml"));
        await Eventually.UntilAsync(async () => (await PrometheusRules(op, ns.Name)).Count == 1, Patience, "the threshold's PrometheusRule");
        var rule = (await PrometheusRules(op, ns.Name))[0];
        await Eventually.UntilAsync(async () => (await Ready(op, ns.Name, "alertthreshold/task-error-rate")).StartsWith("True/", StringComparison.Ordinal), Patience, "Ready");
        // The rules' own watch event reconciles the threshold once more; that one finds them stored.
        await Eventually.UntilAsync(
            () => Task.FromResult(op.Runtime.ThresholdController.Queue.Depth == 0), Patience, "the reconcile the rules' watch event asks for");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Contains(rule, applied);
        applied.Clear();

        // A metadata change reconciles the threshold again; its rules are what the cache holds.
        await op.Plane.Kubectl.RunAsync("annotate", "alertthreshold", "task-error-rate", "-n", ns.Name, "example.com/reviewed=yes");
        await Eventually.UntilAsync(
            () => Task.FromResult(op.Runtime.ThresholdController.Queue.Depth == 0), Patience, "the reconcile of the annotated threshold");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(applied);

        // Edited by hand, the rules are applied again as rendered.
        await op.Plane.Kubectl.RunAsync("patch", "prometheusrules.monitoring.coreos.com", rule, "-n", ns.Name, "--type=merge", "-p", """{"spec":{"groups":[]}}""");
        await Eventually.UntilAsync(
            async () => (await op.Plane.Kubectl.RunAsync("get", "prometheusrules.monitoring.coreos.com", rule, "-n", ns.Name, "-o", "jsonpath={.spec.groups[*].name}")).Length > 0,
            Patience, "the emptied rules put back");
        Assert.Contains(rule, applied);
    }

    [Fact]
    public async Task AnInvalidThresholdThatGotPastAdmissionIsReportedAsACondition()
    {
        await using var op = await OperatorHarness.StartAsync();
        await using var ns = await op.Plane.CreateNamespaceAsync("invalid");

        await op.Plane.Kubectl.RunWithInputAsync(
            """
            apiVersion: agentmetrics.io/v1alpha1
            kind: AlertThreshold
            metadata: {name: nan}
            spec: {metric: agent_task_duration_seconds, statistic: p99, threshold: "NaN"}
            """,
            "apply", "-n", ns.Name, "-f", "-");

        await Eventually.UntilAsync(async () => await Ready(op, ns.Name, "alertthreshold/nan") == "False/InvalidSpec", Patience, "InvalidSpec");
        var message = await op.Plane.Kubectl.RunAsync("get", "alertthreshold", "nan", "-n", ns.Name, "-o", "jsonpath={.status.conditions[0].message}");
        Assert.Contains("spec.threshold: must be a finite number", message, StringComparison.Ordinal);
        Assert.Empty(await PrometheusRules(op, ns.Name));

        // The Event is queued behind the status, not written with it.
        await Eventually.UntilAsync(
            async () => (await op.Plane.Kubectl.RunAsync("get", "events", "-n", ns.Name, "--field-selector", "reason=InvalidSpec", "-o", "name")).Trim().Length > 0,
            Patience, "the InvalidSpec Event");
    }

    [Fact]
    public async Task APercentileThresholdBetweenBucketBoundsSaysItIsAnEstimateAndOnABoundItIsExact()
    {
        await using var op = await OperatorHarness.StartAsync();
        await using var ns = await op.Plane.CreateNamespaceAsync("bounds");
        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", RepoPaths.Combine("config", "samples", "alertthreshold-p99-latency.yaml"));

        await Eventually.UntilAsync(
            async () => await Ready(op, ns.Name, "alertthreshold/support-p99-latency") == "True/ApproximatePercentile", Patience, "ApproximatePercentile");
        var message = await op.Plane.Kubectl.RunAsync(
            "get", "alertthreshold", "support-p99-latency", "-n", ns.Name, "-o", "jsonpath={.status.conditions[0].message}");
        Assert.Contains(
            "spec.threshold 30s lies between the bucket bounds 25.6s and 51.2s of agent_task_duration_seconds", message, StringComparison.Ordinal);

        await op.Plane.Kubectl.RunAsync("patch", "alertthreshold", "support-p99-latency", "-n", ns.Name, "--type=merge", "-p", """{"spec":{"threshold":25.6}}""");

        await Eventually.UntilAsync(
            async () => await Ready(op, ns.Name, "alertthreshold/support-p99-latency") == "True/RulesWritten", Patience, "RulesWritten on a bound");
    }

    [Fact]
    public async Task AThresholdOnAMetricNotYetDefinedBecomesReadyOnceItIs()
    {
        await using var op = await OperatorHarness.StartAsync();
        await using var ns = await op.Plane.CreateNamespaceAsync("pending");
        var samples = RepoPaths.Combine("config", "samples");

        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", Path.Combine(samples, "alertthreshold-custom-metric.yaml"));
        await Eventually.UntilAsync(async () => await Ready(op, ns.Name, "alertthreshold/refund-average") == "False/MetricNotFound", Patience, "MetricNotFound");

        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", Path.Combine(samples, "agentmetricdefinition-histogram-event.yaml"));

        await Eventually.UntilAsync(async () => await Ready(op, ns.Name, "alertthreshold/refund-average") == "True/RulesWritten", Patience, "RulesWritten");
        await Eventually.UntilAsync(
            async () => await Ready(op, ns.Name, "agentmetricdefinition/refund-amount") == "False/NoMatchingAgents", Patience, "NoMatchingAgents");
        await op.Plane.Kubectl.RunAsync("run", "agent", "-n", ns.Name, "--image=example.invalid/agent:1", "--restart=Never",
            "--labels=app.kubernetes.io/name=support-agent");
        await Eventually.UntilAsync(async () => await Ready(op, ns.Name, "agentmetricdefinition/refund-amount") == "True/Collecting", Patience, "Collecting");
        Assert.Equal("1 200", await op.Plane.Kubectl.RunAsync(
            "get", "agentmetricdefinition", "refund-amount", "-n", ns.Name, "-o", "jsonpath={.status.matchedAgents} {.status.seriesEstimate}"));
    }

    [Fact]
    public async Task DeletingAResourceRemovesExactlyItsChildren()
    {
        await using var op = await OperatorHarness.StartAsync();
        await using var ns = await op.Plane.CreateNamespaceAsync("delete");
        var samples = RepoPaths.Combine("config", "samples");
        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", Path.Combine(samples, "alertthreshold-error-rate.yaml"));
        await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", Path.Combine(samples, "alertthreshold-p99-latency.yaml"));
        await Eventually.UntilAsync(async () => (await PrometheusRules(op, ns.Name)).Count == 2, Patience, "two PrometheusRules");

        await op.Plane.Kubectl.RunAsync("delete", "alertthreshold", "task-error-rate", "-n", ns.Name);

        await Eventually.UntilAsync(
            async () => (await PrometheusRules(op, ns.Name)).SequenceEqual([Names.RulesObject("AlertThreshold", "support-p99-latency")]),
            GarbageCollection, "only the other threshold's PrometheusRule to remain");
    }

    [Fact]
    public async Task InConfigMapModeRulesGoToAConfigMapAndSwitchingModesLeavesNothingBehind()
    {
        var ns = await (await ControlPlane.SharedAsync()).CreateNamespaceAsync("modes");
        await using (ns)
        {
            await using (var op = await OperatorHarness.StartAsync())
            {
                await op.Plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", RepoPaths.Combine("config", "samples", "alertthreshold-error-rate.yaml"));
                await Eventually.UntilAsync(async () => (await PrometheusRules(op, ns.Name)).Count == 1, Patience, "a PrometheusRule");
            }

            await using var configMaps = await OperatorHarness.StartAsync(new OutputOptions { Mode = OutputMode.ConfigMaps });
            var name = Names.RulesObject("AlertThreshold", "task-error-rate");
            await Eventually.UntilAsync(
                async () => (await configMaps.Plane.Kubectl.TryRunAsync(null, "get", "configmap", name, "-n", ns.Name)).ExitCode == 0
                    && (await PrometheusRules(configMaps, ns.Name)).Count == 0,
                Patience, "the ConfigMap to replace the PrometheusRule");
            var data = await configMaps.Plane.Kubectl.RunAsync("get", "configmap", name, "-n", ns.Name, "-o", "json");
            using var document = JsonDocument.Parse(data);
            var file = Assert.Single(document.RootElement.GetProperty("data").EnumerateObject());
            Assert.EndsWith(".rules.yaml", file.Name, StringComparison.Ordinal);
            Assert.Contains("alert: \"TaskErrorRate\"", file.Value.GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnOperatorRestartedMidReconcileConvergesWithNoDuplicates()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("restart");
        var samples = RepoPaths.Combine("config", "samples");
        await using (var first = await OperatorHarness.StartAsync())
        {
            await plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", samples);
        }

        await using var second = await OperatorHarness.StartAsync();

        var expected = Directory.GetFiles(samples, "*.yaml").Length;
        await Eventually.UntilAsync(async () => (await PrometheusRules(second, ns.Name)).Count == expected, Patience, "one PrometheusRule per sample");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(expected, (await PrometheusRules(second, ns.Name)).Count);
    }

    private static async Task<List<string>> PrometheusRules(OperatorHarness op, string @namespace)
    {
        var names = await op.Plane.Kubectl.RunAsync("get", "prometheusrules.monitoring.coreos.com", "-n", @namespace, "-o", "jsonpath={.items[*].metadata.name}");
        return [.. names.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    private static async Task<string> Ready(OperatorHarness op, string @namespace, string resource) =>
        await op.Plane.Kubectl.RunAsync("get", resource, "-n", @namespace, "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}/{.status.conditions[?(@.type==\"Ready\")].reason}");

    private static async Task<List<(string Ready, long Generation, long Observed)>> ReadyStates(OperatorHarness op, string @namespace)
    {
        var json = await op.Plane.Kubectl.RunAsync("get", "agentmetrics", "-n", @namespace, "-o", "json");
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.GetProperty("items").EnumerateArray().Select(item =>
        {
            var status = item.TryGetProperty("status", out var s) ? s : default;
            var ready = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("conditions", out var conditions)
                ? conditions.EnumerateArray().First(c => c.GetProperty("type").GetString() == "Ready").GetProperty("status").GetString()!
                : "missing";
            var observed = status.ValueKind == JsonValueKind.Object && status.TryGetProperty("observedGeneration", out var o) ? o.GetInt64() : -1;
            return (ready, item.GetProperty("metadata").GetProperty("generation").GetInt64(), observed);
        })];
    }
}
