using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Testing;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>Clients of the real control plane, connected through its generated kubeconfig.</summary>
internal static class Clients
{
    public static KubernetesClient Admin(ControlPlane plane) => new(Kubeconfig.Load(plane.KubeconfigPath));
}
