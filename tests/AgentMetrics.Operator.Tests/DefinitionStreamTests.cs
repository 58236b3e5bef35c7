using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentMetrics.Api.Streaming;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The definitions stream as a sidecar sees it, served by the whole operator app against the real
/// API server, with real service-account tokens from the TokenRequest API checked by TokenReview.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class DefinitionStreamTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ASidecarGetsTheDefinitionsSelectingItsPodAndEveryChangeToThem()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("stream");
        await using var op = await OperatorHarness.ServeAsync(plane, ns.Name, streamHeartbeat: TimeSpan.FromSeconds(1));
        await plane.Kubectl.RunAsync("create", "serviceaccount", "agent", "-n", ns.Name);
        await ApplyPodAsync(plane, ns.Name, "agent-0", "agent", "researcher");
        await ApplyAsync(plane, ns.Name, Definition("researcher-latency", "task_latency_seconds", "histogram", "researcher"));
        await ApplyAsync(plane, ns.Name, Definition("writer-words", "words_written", "counter", "writer"));
        var token = await TokenAsync(plane, ns.Name, "agent", "agent-0");
        using var http = op.CreateHttpClient();
        await using var stream = await SidecarStream.OpenAsync(http, op.Url, ns.Name, "agent-0", token);

        var first = await stream.NextAsync(Patience, "the first snapshot");
        Assert.Equal(DefinitionStreamMessage.SnapshotType, first?.Type);
        await stream.UntilSnapshotAsync(s => SidecarStream.Names(s).SequenceEqual(["researcher-latency"]), Patience, "the selecting definition only");
        var wire = stream.RawDefinition("researcher-latency");
        Assert.Equal("agentmetrics.io/v1alpha1", (string?)wire["apiVersion"]);
        Assert.Equal("AgentMetricDefinition", (string?)wire["kind"]);
        Assert.Equal(ns.Name, (string?)wire["metadata"]!["namespace"]);
        Assert.NotNull((string?)wire["metadata"]!["uid"]);
        Assert.Equal(1, (long?)wire["metadata"]!["generation"]);
        Assert.Equal("task_latency_seconds", (string?)wire["spec"]!["metric"]!["name"]);
        Assert.Null(wire["status"]);

        await ApplyAsync(plane, ns.Name, Definition("researcher-sources", "sources_read", "counter", "researcher"));
        var applied = Stopwatch.StartNew();
        await stream.UntilSnapshotAsync(
            s => SidecarStream.Names(s).SequenceEqual(["researcher-latency", "researcher-sources"]), Patience, "a new definition, in name order");
        output.WriteLine($"the new definition reached the sidecar {applied.Elapsed.TotalMilliseconds:0} ms after kubectl apply returned");

        // Neither an annotation nor a status write changes what the sidecar is sent: no snapshot for them.
        await plane.Kubectl.RunAsync("annotate", "agentmetricdefinition", "researcher-sources", "-n", ns.Name, "example.com/owner=research");
        await ApplyAsync(plane, ns.Name, Definition("researcher-sources", "sources_read", "counter", "researcher", help: "Sources read, cited or not."));
        var changed = await stream.UntilSnapshotAsync(
            s => s.Definitions!.Any(d => d.Metadata.Name == "researcher-sources" && d.Metadata.Generation == 2), Patience, "the changed spec");
        Assert.Equal("Sources read, cited or not.", changed.Definitions!.Single(d => d.Metadata.Name == "researcher-sources").Spec.Metric.Help);

        // Newer than researcher-latency and a different type under the same name: the reconciler refuses it, so the sidecar never sees it.
        await ApplyAsync(plane, ns.Name, Definition("researcher-latency-gauge", "task_latency_seconds", "gauge", "researcher"));
        await ApplyAsync(plane, ns.Name, Definition("researcher-tools", "tool_calls", "counter", "researcher"));
        await stream.UntilSnapshotAsync(s => SidecarStream.Names(s).Contains("researcher-tools"), Patience, "the definition applied after the invalid one");
        Assert.DoesNotContain(stream.Snapshots, s => SidecarStream.Names(s).Contains("researcher-latency-gauge"));

        await plane.Kubectl.RunAsync("delete", "agentmetricdefinition", "researcher-sources", "-n", ns.Name);
        await stream.UntilSnapshotAsync(s => !SidecarStream.Names(s).Contains("researcher-sources"), Patience, "the deleted definition to be gone");

        await plane.Kubectl.RunAsync("label", "pod", "agent-0", "-n", ns.Name, "role=writer", "--overwrite");
        await stream.UntilSnapshotAsync(s => SidecarStream.Names(s).SequenceEqual(["writer-words"]), Patience, "the selection of the relabelled pod");

        await stream.UntilHeartbeatAsync(Patience);

        await plane.Kubectl.RunAsync("delete", "pod", "agent-0", "-n", ns.Name, "--wait=false");
        await stream.UntilEndAsync(Patience);
    }

    [Fact]
    public async Task StoppingTheOperatorEndsOpenStreams()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("streamstop");
        var op = await OperatorHarness.ServeAsync(plane, ns.Name);
        await using (op)
        {
            await plane.Kubectl.RunAsync("create", "serviceaccount", "agent", "-n", ns.Name);
            await ApplyPodAsync(plane, ns.Name, "agent-0", "agent", "researcher");
            var token = await TokenAsync(plane, ns.Name, "agent", null);
            using var http = op.CreateHttpClient();
            await using var stream = await SidecarStream.OpenAsync(http, op.Url, ns.Name, "agent-0", token);
            await stream.UntilSnapshotAsync(_ => true, Patience, "the first snapshot");

            var stopping = op.DisposeAsync().AsTask();
            await stream.UntilEndAsync(Patience);
            await stopping.WaitAsync(Patience);
        }
    }

    [Fact]
    public async Task RequestsThatMayNotWatchAPodAreRefusedWithAJsonErrorNamingWhy()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("streamauth");
        await using var elsewhere = await plane.CreateNamespaceAsync("streamelsewhere");
        await using var op = await OperatorHarness.ServeAsync(plane, ns.Name);
        foreach (var (account, @namespace) in new[] { ("agent", ns.Name), ("other", ns.Name), ("agent", elsewhere.Name) })
        {
            await plane.Kubectl.RunAsync("create", "serviceaccount", account, "-n", @namespace);
        }

        await ApplyPodAsync(plane, ns.Name, "agent-0", "agent", "researcher");
        await ApplyPodAsync(plane, ns.Name, "agent-1", "agent", "researcher");
        await ApplyPodAsync(plane, ns.Name, "other-0", "other", "researcher");
        var agent = $"Bearer {await TokenAsync(plane, ns.Name, "agent", null)}";
        var boundToAgent0 = $"Bearer {await TokenAsync(plane, ns.Name, "agent", "agent-0")}";
        var otherNamespace = $"Bearer {await TokenAsync(plane, elsewhere.Name, "agent", null)}";
        var query = $"?namespace={ns.Name}&pod=agent-0";
        (string Case, string Query, string? Authorization, int Code, string Error)[] table =
        [
            ("no query", "", agent, 400, "query parameter namespace and pod is required"),
            ("no pod", $"?namespace={ns.Name}", agent, 400, "query parameter pod is required"),
            ("no namespace", "?pod=agent-0", agent, 400, "query parameter namespace is required"),
            ("no token", query, null, 401, "an Authorization: Bearer header"),
            ("not a bearer token", query, "Basic YWdlbnQ6c2VjcmV0", 401, "an Authorization: Bearer header"),
            ("a garbage token", query, "Bearer garbage", 401, "the bearer token was not accepted by the API server"),
            ("a token of another namespace", query, otherNamespace, 403, $"service account {elsewhere.Name}/agent, which may not watch pods of namespace {ns.Name}"),
            ("a pod of another service account", $"?namespace={ns.Name}&pod=other-0", agent, 403, "runs as service account other, not as agent"),
            ("a token bound to another pod", $"?namespace={ns.Name}&pod=agent-1", boundToAgent0, 403, "the token is bound to pod agent-0, not to pod agent-1"),
            ("an unknown pod", $"?namespace={ns.Name}&pod=ghost", agent, 404, $"pod {ns.Name}/ghost is not known to the operator"),
        ];
        using var http = op.CreateHttpClient();

        foreach (var (@case, caseQuery, authorization, code, error) in table)
        {
            using var response = await SidecarStream.RequestAsync(http, op.Url, caseQuery, authorization);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(code == (int)response.StatusCode, $"{@case}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var message = (string?)JsonNode.Parse(body)!["error"];
            Assert.True(message?.Contains(error, StringComparison.Ordinal) == true, $"{@case}: {body}");
        }

        var metrics = await http.GetStringAsync(new Uri(op.Url, "/metrics"));
        var (exitCode, lint) = await Promtool.RunAsync(ProcessRegistry.Current.RunDirectory, metrics, "check", "metrics");
        Assert.True(exitCode == 0, $"{lint}\n{metrics}");
        Assert.Contains("agentmetrics_definition_stream_token_reviews_total{result=\"cached\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("agentmetrics_definition_stream_requests_total{code=\"403\"} 3", metrics, StringComparison.Ordinal);
    }

    internal static async Task<string> TokenAsync(ControlPlane plane, string @namespace, string account, string? boundToPod)
    {
        if (boundToPod is null)
        {
            return (await plane.Kubectl.RunAsync("create", "token", account, "-n", @namespace)).Trim();
        }

        var uid = await plane.Kubectl.RunAsync("get", "pod", boundToPod, "-n", @namespace, "-o", "jsonpath={.metadata.uid}");
        return (await plane.Kubectl.RunAsync(
            "create", "token", account, "-n", @namespace,
            "--bound-object-kind", "Pod", "--bound-object-name", boundToPod, "--bound-object-uid", uid)).Trim();
    }

    // The ServiceAccount admission plugin is off in the test control plane: the pod names its account itself.
    internal static Task ApplyPodAsync(ControlPlane plane, string @namespace, string name, string account, string role) =>
        ApplyAsync(plane, @namespace, $$"""
            apiVersion: v1
            kind: Pod
            metadata:
              name: {{name}}
              labels: {app: support-agent, role: "{{role}}"}
            spec:
              serviceAccountName: {{account}}
              containers: [{name: agent, image: example.invalid/agent:1}]
            """);

    internal static string Definition(string name, string metric, string type, string role, string help = "An agent metric.") => $$"""
        apiVersion: agentmetrics.io/v1alpha1
        kind: AgentMetricDefinition
        metadata:
          name: {{name}}
        spec:
          selector:
            matchLabels: {role: "{{role}}"}
          metric: {name: {{metric}}, type: {{type}}, help: "{{help}}"}
          source: {kind: Event, name: "{{metric}}"}
        """;

    internal static Task ApplyAsync(ControlPlane plane, string @namespace, string yaml) =>
        plane.Kubectl.RunWithInputAsync(yaml, "apply", "-n", @namespace, "-f", "-");
}
