namespace AgentMetrics.Kubernetes.Models;

/// <summary>An object's identity within a kind: namespace (null when cluster-scoped) and name.</summary>
public readonly record struct ObjectKey(string? Namespace, string Name)
{
    /// <summary>"namespace/name", or "name" for cluster-scoped objects.</summary>
    public override string ToString() => Namespace is null ? Name : $"{Namespace}/{Name}";
}
