using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// A namespace of thousands of stored agent pods, each with a label of its own as a StatefulSet's
/// pods have: every definition's status counts the pods it selects and those with the sidecar, and
/// follows when pods go.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class FleetStatusTests
{
    private const int Pods = 3000;
    private const int WithSidecar = 2000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task ThousandsOfStoredPodsAreCountedByEveryDefinitionAndTheCountsFollowWhenPodsGo()
    {
        // Thousands of pods would slow the shared control plane for every test after this one.
        await using var plane = await ControlPlane.StartAsync();
        await using var system = await plane.CreateNamespaceAsync("fleetsys");
        await using var fleet = await plane.CreateNamespaceAsync("fleet");
        using var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
        await Parallel.ForEachAsync(Enumerable.Range(0, Pods), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
            await client.CreateAsync(ResourceType.Pods, fleet.Name, AgentPod(i), KubernetesJsonContext.Default.KubernetesObject, token));

        await using var app = await OperatorHarness.ServeAsync(plane, system.Name);
        var definitions = new (string Name, LabelSelector Selector, Func<int, bool> Selects)[]
        {
            ("everyone", new() { MatchLabels = new() { ["app"] = "agent" } }, _ => true),
            ("team-a", new() { MatchLabels = new() { ["app"] = "agent", ["team"] = "a" } }, i => Team(i) == "a"),
            ("not-team-a", new() { MatchExpressions = [new() { Key = "team", Operator = "NotIn", Values = ["a"] }] }, i => Team(i) != "a"),
            ("one-pod", new() { MatchLabels = new() { ["statefulset.kubernetes.io/pod-name"] = "agent-00007" } }, i => i == 7),
        };
        foreach (var (name, selector, _) in definitions)
        {
            await client.CreateAsync(AgentMetricDefinition.Type, fleet.Name, Definition(name, selector), ApiJsonContext.Default.AgentMetricDefinition);
        }

        await ExpectCountsAsync(plane, fleet.Name, definitions, i => i < Pods);

        // Pods go: a third of those with the sidecar, and every one of team a among the first 1000.
        var gone = Enumerable.Range(0, Pods).Where(i => (i < WithSidecar && i % 3 == 1) || (i < 1000 && Team(i) == "a")).ToHashSet();
        await Parallel.ForEachAsync(gone, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, token) =>
            await client.DeleteAsync(ResourceType.Pods, fleet.Name, Name(i), cancellationToken: token));
        await ExpectCountsAsync(plane, fleet.Name, definitions, i => i < Pods && !gone.Contains(i));
    }

    private static async Task ExpectCountsAsync(
        ControlPlane plane, string @namespace, (string Name, LabelSelector Selector, Func<int, bool> Selects)[] definitions, Func<int, bool> present)
    {
        var expected = string.Join(
            " ",
            definitions.OrderBy(d => d.Name, StringComparer.Ordinal).Select(d =>
            {
                var selected = Enumerable.Range(0, Pods).Where(i => present(i) && d.Selects(i)).ToList();
                return $"{d.Name}={selected.Count}/{selected.Count(i => i < WithSidecar)}";
            }));
        var seen = "";
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    var list = JsonNode.Parse(await plane.Kubectl.RunAsync("get", "amd", "-n", @namespace, "-o", "json"))!["items"]!.AsArray();
                    seen = string.Join(
                        " ",
                        list.Select(d => $"{(string)d!["metadata"]!["name"]!}={d["status"]?["matchedAgents"]}/{d["status"]?["injectedAgents"]}")
                            .Order(StringComparer.Ordinal));
                    return seen == expected;
                },
                Patience,
                $"the definitions to count {expected}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last seen {seen}", e);
        }
    }

    private static string Name(int i) => $"agent-{i:D5}";

    private static string Team(int i) => i % 3 == 0 ? "a" : "b";

    private static KubernetesObject AgentPod(int i)
    {
        var containers = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "example.invalid/agent:1" });
        if (i < WithSidecar)
        {
            containers.Add(new JsonObject { ["name"] = Names.SidecarContainer, ["image"] = "example.invalid/agent-metrics-sidecar:1" });
        }

        return JsonSerializer.Deserialize(
            new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject
                {
                    ["name"] = Name(i),
                    ["labels"] = new JsonObject { ["app"] = "agent", ["team"] = Team(i), ["statefulset.kubernetes.io/pod-name"] = Name(i) },
                },
                ["spec"] = new JsonObject { ["containers"] = containers },
            }.ToJsonString(),
            KubernetesJsonContext.Default.KubernetesObject)!;
    }

    private static AgentMetricDefinition Definition(string name, LabelSelector selector) => new()
    {
        Metadata = new() { Name = name },
        Spec = new()
        {
            Selector = selector,
            Metric = new() { Name = $"custom_{name.Replace('-', '_')}", Type = "counter", Help = "Counted per agent." },
            Source = new() { Kind = "Event", Name = name },
        },
    };
}
