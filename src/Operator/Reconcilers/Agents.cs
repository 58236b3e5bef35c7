using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>What makes a pod an agent pod that matters to definitions.</summary>
public static class Agents
{
    /// <summary>Whether a stored pod carries the metrics sidecar, as a container or a sidecar init container.</summary>
    public static bool Injected(KubernetesObject pod) =>
        new[] { "containers", "initContainers" }.Any(field =>
            (pod.Body["spec"]?[field] as JsonArray ?? []).Any(c => JsonText.Of(c?["name"]) == Names.SidecarContainer));

    /// <summary>A pod matters to definitions when it comes, goes, is replaced or changes labels; its status churn does not.</summary>
    public static bool SetChanged(InformerEvent<KubernetesObject> change) =>
        change.Type != WatchEventType.Modified
        || change.Old?.Metadata.DeletionTimestamp != change.Object.Metadata.DeletionTimestamp
        || change.Old?.Metadata.Uid != change.Object.Metadata.Uid
        || !SameLabels(change.Old?.Metadata.Labels, change.Object.Metadata.Labels);

    private static bool SameLabels(Dictionary<string, string>? a, Dictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? []).All(l => b!.TryGetValue(l.Key, out var v) && v == l.Value);
}
