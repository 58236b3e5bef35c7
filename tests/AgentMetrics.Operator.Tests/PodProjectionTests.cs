using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Operator.Discovery;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Operator.Reconcilers;
using AgentMetrics.Operator.Streaming;
using AgentMetrics.Rendering;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>The operator caches a projection of each pod: what its readers use, and a fraction of the size.</summary>
public sealed class PodProjectionTests(ITestOutputHelper output)
{
    [Fact]
    public void TheCachedPodKeepsWhatTheOperatorReadsAndDropsTheRest()
    {
        var pod = InjectedPod();

        var trimmed = PodProjection.Trim(pod);

        Assert.True(Agents.Injected(trimmed));
        Assert.Equal("support-bot", StreamAccess.ServiceAccountOf(trimmed));
        Assert.Equal(ScrapeTargets.Of([pod]).ToJsonString(), ScrapeTargets.Of([trimmed]).ToJsonString());
        Assert.Equal(pod.Metadata.Labels, trimmed.Metadata.Labels);
        Assert.Equal(pod.Metadata.Annotations![Names.InjectionStatusAnnotation], trimmed.Metadata.Annotations![Names.InjectionStatusAnnotation]);
        Assert.False(trimmed.Metadata.Annotations.ContainsKey("kubectl.kubernetes.io/last-applied-configuration"));
        Assert.Null(trimmed.Metadata.Extra);
        Assert.Null(trimmed.Body["spec"]!["volumes"]);
        Assert.Null(trimmed.Body["spec"]!["containers"]![0]!["env"]);
        Assert.Null(trimmed.Body["status"]!["conditions"]);

        var before = JsonSerializer.Serialize(pod, KubernetesJsonContext.Default.KubernetesObject).Length;
        var after = JsonSerializer.Serialize(trimmed, KubernetesJsonContext.Default.KubernetesObject).Length;
        output.WriteLine($"a pod as stored: {before} bytes of JSON; as cached: {after}");
        Assert.True(after * 3 < before, $"the projection is {after} bytes of the pod's {before}");
    }

    /// <summary>An agent pod as the API server stores it after the injector's own mutation, with what a real one carries besides.</summary>
    private static KubernetesObject InjectedPod()
    {
        var agent = new JsonObject
        {
            ["name"] = "agent",
            ["image"] = "registry.example/support-agent:1.4.2",
            ["env"] = new JsonArray([.. Enumerable.Range(0, 20).Select(i => (JsonNode)new JsonObject { ["name"] = $"SETTING_{i}", ["value"] = new string('x', 40) })]),
            ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["cpu"] = "250m", ["memory"] = "256Mi" } },
            ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "config", ["mountPath"] = "/etc/agent" }),
        };
        var created = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = "support-agent-7d9f-x2",
                ["namespace"] = "support",
                ["uid"] = "5a1c",
                ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = "support-agent" },
                ["annotations"] = new JsonObject { ["kubectl.kubernetes.io/last-applied-configuration"] = new string('y', 2000) },
            },
            ["spec"] = new JsonObject
            {
                ["serviceAccountName"] = "support-bot",
                ["containers"] = new JsonArray(agent),
                ["volumes"] = new JsonArray(new JsonObject { ["name"] = "config", ["configMap"] = new JsonObject { ["name"] = "support-agent" } }),
            },
        };
        var stored = PodInjector.Decide(created, new SidecarOptions(), "-----BEGIN CERTIFICATE-----", nativeSidecar: false).Pod!;
        stored["metadata"]!["managedFields"] = new JsonArray([.. Enumerable.Range(0, 4).Select(i => (JsonNode)new JsonObject { ["manager"] = $"m{i}", ["fieldsV1"] = new string('z', 400) })]);
        stored["spec"]!["nodeName"] = "node-1";
        stored["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["podIP"] = "10.244.1.7",
            ["conditions"] = new JsonArray([.. new[] { "Initialized", "Ready", "ContainersReady", "PodScheduled" }.Select(c => (JsonNode)new JsonObject { ["type"] = c, ["status"] = "True" })]),
        };
        return JsonSerializer.Deserialize(stored.ToJsonString(), KubernetesJsonContext.Default.KubernetesObject)!;
    }
}
