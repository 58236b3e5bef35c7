using System.Text.Json.Nodes;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>The agent pods of a namespace as validation sees them: name and labels.</summary>
public static class Agents
{
    /// <summary>The pods of <paramref name="namespace"/> not being deleted.</summary>
    public static List<(string Name, IReadOnlyDictionary<string, string> Labels)> In(Informer<KubernetesObject> pods, string @namespace) =>
        [.. pods.Cache.ListInNamespace(@namespace)
            .Where(p => p.Metadata.DeletionTimestamp is null)
            .Select(p => (p.Metadata.Name!, (IReadOnlyDictionary<string, string>)(p.Metadata.Labels ?? [])))];

    /// <summary>The pods of <paramref name="namespace"/>, not being deleted, that <paramref name="selector"/> picks.</summary>
    public static List<KubernetesObject> Selected(Informer<KubernetesObject> pods, string @namespace, LabelSelector selector) =>
        [.. pods.Cache.ListInNamespace(@namespace)
            .Where(p => p.Metadata.DeletionTimestamp is null && selector.Matches(p.Metadata.Labels ?? []))];

    /// <summary>Whether a stored pod carries the metrics sidecar, as a container or a sidecar init container.</summary>
    public static bool Injected(KubernetesObject pod) =>
        new[] { "containers", "initContainers" }.Any(field =>
            (pod.Body["spec"]?[field] as JsonArray ?? []).Any(c => JsonText.Of(c?["name"]) == Names.SidecarContainer));

    /// <summary>
    /// What a definition of <paramref name="namespace"/> is validated against: every definition there and
    /// its agent pods. The reconciler, the webhook and the definitions stream all judge by this one view.
    /// </summary>
    public static ValidationContext Context(Informer<AgentMetricDefinition> definitions, Informer<KubernetesObject> pods, string @namespace) =>
        new() { Definitions = definitions.Cache.ListInNamespace(@namespace), Pods = In(pods, @namespace) };

    /// <summary>A pod matters to definitions when it comes, goes, is replaced or changes labels; its status churn does not.</summary>
    public static bool SetChanged(InformerEvent<KubernetesObject> change) =>
        change.Type != WatchEventType.Modified
        || change.Old?.Metadata.DeletionTimestamp != change.Object.Metadata.DeletionTimestamp
        || change.Old?.Metadata.Uid != change.Object.Metadata.Uid
        || !SameLabels(change.Old?.Metadata.Labels, change.Object.Metadata.Labels);

    private static bool SameLabels(Dictionary<string, string>? a, Dictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a ?? []).All(l => b!.TryGetValue(l.Key, out var v) && v == l.Value);
}
