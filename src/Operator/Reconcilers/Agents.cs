using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>The agent pods of a namespace as validation sees them: name and labels.</summary>
public static class Agents
{
    /// <summary>The pods of <paramref name="namespace"/> not being deleted.</summary>
    public static List<(string Name, IReadOnlyDictionary<string, string> Labels)> In(Informer<KubernetesObject> pods, string @namespace) =>
        [.. pods.Cache.ListInNamespace(@namespace)
            .Where(p => p.Metadata.DeletionTimestamp is null)
            .Select(p => (p.Metadata.Name!, (IReadOnlyDictionary<string, string>)(p.Metadata.Labels ?? [])))];
}
