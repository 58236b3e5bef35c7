using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Operator.Webhooks;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// Every rejection rule, twice, on the real API server: refused at admission by the operator's
/// webhook with the field and the rule, and, where no webhook is registered, stored and reported in
/// a Ready=False InvalidSpec condition saying the same.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed partial class WebhookTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public static TheoryData<string> Fixtures =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "invalid"), "*.yaml").Select(f => Path.GetFileName(f)).Order()];

    [Fact]
    public async Task EachRuleIsRefusedAtAdmissionAndReportedAsAConditionWithoutTheWebhook()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallPrometheusOperatorCrdsAsync();
        await using var guarded = await plane.CreateNamespaceAsync("webhook");
        await using var open = await plane.CreateNamespaceAsync("nowebhook");
        await using var app = await OperatorHarness.ServeAsync(plane, guarded.Name);
        await RegisterWebhookAsync(plane, guarded.Name, app.Url);
        try
        {
            foreach (var fixture in Fixtures)
            {
                var (objectName, expected, path) = Read(fixture);

                var refused = await plane.Kubectl.TryRunAsync(null, "apply", "-n", guarded.Name, "-f", path);
                Assert.True(refused.ExitCode != 0, $"{fixture} was admitted");
                Assert.Contains(" is invalid: ", refused.Stderr, StringComparison.Ordinal);
                Assert.Contains(expected, refused.Stderr, StringComparison.Ordinal);
                Assert.NotEqual(0, (await plane.Kubectl.TryRunAsync(null, "get", objectName, "-n", guarded.Name)).ExitCode);

                await plane.Kubectl.RunAsync("apply", "-n", open.Name, "-f", path);
                await Eventually.UntilAsync(
                    async () => (await plane.Kubectl.RunAsync("get", objectName, "-n", open.Name, "-o", "jsonpath={.status.conditions[0].reason}")) == "InvalidSpec",
                    Patience, $"{fixture}: InvalidSpec without the webhook");
                var message = await plane.Kubectl.RunAsync("get", objectName, "-n", open.Name, "-o", "jsonpath={.status.conditions[0].message}");
                Assert.Contains(expected, message, StringComparison.Ordinal);
            }
        }
        finally
        {
            await plane.Kubectl.TryRunAsync(null, "delete", "validatingwebhookconfiguration", $"agent-metrics-test-{guarded.Name}");
        }
    }

    [Fact]
    public async Task ValidObjectsAreAdmittedAndTheOperatorReportsItsWorkOnMetrics()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallPrometheusOperatorCrdsAsync();
        await using var guarded = await plane.CreateNamespaceAsync("admitted");
        await using var app = await OperatorHarness.ServeAsync(plane, guarded.Name);
        await RegisterWebhookAsync(plane, guarded.Name, app.Url);
        try
        {
            await plane.Kubectl.RunAsync("apply", "-n", guarded.Name, "-f", RepoPaths.Combine("config", "samples"));

            var stored = await plane.Kubectl.RunAsync("get", "agentmetrics", "-n", guarded.Name, "-o", "name");
            Assert.Equal(Directory.GetFiles(RepoPaths.Combine("config", "samples")).Length, stored.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            using var http = app.CreateHttpClient();
            string metrics = "";
            await Eventually.UntilAsync(
                async () => (metrics = await http.GetStringAsync(new Uri(app.Url, "/metrics")))
                    .Contains("controller_runtime_reconcile_total{controller=\"alertthreshold\",result=\"success\"}", StringComparison.Ordinal),
                Patience, "reconciles to show on /metrics");
            var (exitCode, output) = await Promtool.RunAsync(ProcessRegistry.Current.RunDirectory, metrics, "check", "metrics");
            Assert.True(exitCode == 0, $"{output}\n{metrics}");

            // The names and labels controller-runtime operators publish, so their dashboards and alerts apply as they are.
            foreach (var expected in new[]
            {
                "# TYPE controller_runtime_reconcile_total counter",
                "# TYPE controller_runtime_reconcile_errors_total counter",
                "# TYPE controller_runtime_reconcile_time_seconds histogram",
                "controller_runtime_reconcile_time_seconds_bucket{controller=\"agentmetricdefinition\",le=\"0.15\"}",
                "controller_runtime_max_concurrent_reconciles{controller=\"agentmetricdefinition\"} 16",
                "workqueue_depth{controller=\"alertthreshold\",name=\"alertthreshold\"}",
                "workqueue_adds_total{controller=\"alertthreshold\",name=\"alertthreshold\"}",
                "# TYPE workqueue_queue_duration_seconds histogram",
                "# TYPE workqueue_work_duration_seconds histogram",
                "leader_election_master_status{name=",
                "# TYPE process_cpu_seconds_total counter",
                "process_resident_memory_bytes ",
                "process_open_fds ",
                "process_max_fds ",
                "process_start_time_seconds ",
                "# TYPE dotnet_gc_collections_total counter",
                "# TYPE dotnet_process_memory_working_set_bytes gauge",
            })
            {
                Assert.True(metrics.Contains(expected, StringComparison.Ordinal), $"/metrics lacks {expected}:\n{metrics}");
            }
        }
        finally
        {
            await plane.Kubectl.TryRunAsync(null, "delete", "validatingwebhookconfiguration", $"agent-metrics-test-{guarded.Name}");
        }
    }

    [Fact]
    public async Task MoreThanAThousandMetricsOnOneAgentIsRefusedAndWithoutTheWebhookOnlyTheNewestIsInvalid()
    {
        // Thousands of owned objects would leave the shared control plane's garbage collector a
        // backlog that slows every test after this one: this test gets a control plane of its own.
        await using var plane = await ControlPlane.StartAsync();
        await plane.InstallPrometheusOperatorCrdsAsync();
        await using var guarded = await plane.CreateNamespaceAsync("cap");
        await using var open = await plane.CreateNamespaceAsync("capopen");
        await using var app = await OperatorHarness.ServeAsync(plane, guarded.Name);
        await RegisterWebhookAsync(plane, guarded.Name, app.Url);
        using var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
        var room = Api.Validation.ValidationContext.MaxMetricsPerAgent - Api.Catalog.BuiltInMetrics.All.Count;
        try
        {
            foreach (var ns in new[] { guarded.Name, open.Name })
            {
                await plane.Kubectl.RunAsync("run", "agent-0", "-n", ns, "--image=example.invalid/agent:1", "--restart=Never", "--labels=app=crowded");
                await Parallel.ForEachAsync(Enumerable.Range(0, room), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, token) =>
                    await client.CreateAsync(
                        Api.V1Alpha1.AgentMetricDefinition.Type, ns, Crowded(ns, $"m{i:D4}"), Api.V1Alpha1.ApiJsonContext.Default.AgentMetricDefinition, token));
            }

            // Creation times have one-second resolution: make the last one unambiguously the newest.
            await Task.Delay(TimeSpan.FromSeconds(1.1));
            var lastOne = JsonSerializer.Serialize(Crowded("", "one-too-many"), Api.V1Alpha1.ApiJsonContext.Default.AgentMetricDefinition);

            var refused = await plane.Kubectl.TryRunAsync(lastOne, "apply", "-n", guarded.Name, "-f", "-");
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains(
                $"spec.selector: selects agent pod agent-0, which would then have 1001 metrics ({Api.Catalog.BuiltInMetrics.All.Count} built-in and {room + 1} defined); at most 1000",
                refused.Stderr, StringComparison.Ordinal);

            await plane.Kubectl.RunWithInputAsync(lastOne, "apply", "-n", open.Name, "-f", "-");
            await Eventually.UntilAsync(
                async () => (await plane.Kubectl.RunAsync("get", "amd", "one-too-many", "-n", open.Name, "-o", "jsonpath={.status.conditions[0].reason}")) == "InvalidSpec",
                TimeSpan.FromSeconds(60), "the newest definition to be InvalidSpec");
            await Eventually.UntilAsync(
                async () => (await plane.Kubectl.RunAsync("get", "amd", "-n", open.Name, "-o", "jsonpath={.items[*].status.conditions[0].reason}"))
                    .Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(r => r == "Collecting") == room,
                TimeSpan.FromSeconds(120), $"the {room} older definitions to be collected");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private static Api.V1Alpha1.AgentMetricDefinition Crowded(string @namespace, string name) => new()
    {
        Metadata = new() { Name = name, Namespace = @namespace.Length == 0 ? null : @namespace },
        Spec = new()
        {
            Selector = new() { MatchLabels = new() { ["app"] = "crowded" } },
            Metric = new() { Name = $"custom_{name.Replace('-', '_')}", Type = "counter", Help = "One of many." },
            Source = new() { Kind = "Event", Name = name },
        },
    };

    private static (string Object, string Expected, string Path) Read(string fixture)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "invalid", fixture);
        var text = File.ReadAllText(path);
        return (Header().Match(text).Groups["object"].Value, Expect().Match(text).Groups["text"].Value.Trim(), path);
    }

    private static async Task RegisterWebhookAsync(ControlPlane plane, string @namespace, Uri url)
    {
        await plane.Kubectl.RunAsync("label", "namespace", @namespace, $"agentmetrics.io/webhook-test={@namespace}");
        var caBundle = Convert.ToBase64String(Encoding.ASCII.GetBytes(plane.Pki.CaPem));
        string Hook(string name, string plural, string path) => $$"""
            - name: {{name}}.agentmetrics.io
              admissionReviewVersions: [v1]
              sideEffects: None
              failurePolicy: Fail
              timeoutSeconds: 5
              clientConfig:
                url: {{new Uri(url, path)}}
                caBundle: {{caBundle}}
              namespaceSelector:
                matchLabels: {"agentmetrics.io/webhook-test": "{{@namespace}}"}
              rules:
              - apiGroups: [agentmetrics.io]
                apiVersions: [v1alpha1]
                operations: [CREATE, UPDATE]
                resources: [{{plural}}]
            """;
        await plane.Kubectl.RunWithInputAsync(
            $"""
            apiVersion: admissionregistration.k8s.io/v1
            kind: ValidatingWebhookConfiguration
            metadata:
              name: agent-metrics-test-{@namespace}
            webhooks:
            {Hook("agentmetricdefinitions", "agentmetricdefinitions", ValidationWebhook.DefinitionsPath)}
            {Hook("alertthresholds", "alertthresholds", ValidationWebhook.ThresholdsPath)}
            """,
            "apply", "-f", "-");
        // The API server picks webhook configurations up from its own watch; wait until this one bites.
        var last = "";
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    last = (await plane.Kubectl.TryRunAsync(null, "apply", "-n", @namespace, "--dry-run=server", "-f",
                        Path.Combine(AppContext.BaseDirectory, "Fixtures", "invalid", "at-nan-threshold.yaml"))).Stderr;
                    return last.Contains("spec.threshold: must be a finite number", StringComparison.Ordinal);
                },
                Patience, "the webhook to be in force");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; kubectl last said: {last}", e);
        }
    }

    [GeneratedRegex("^# expect-object: (?<object>\\S+)", RegexOptions.Multiline)]
    private static partial Regex Header();

    [GeneratedRegex("^# expect: (?<text>.+)$", RegexOptions.Multiline)]
    private static partial Regex Expect();
}
