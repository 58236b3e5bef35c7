using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Testing;

/// <summary>A namespace that belongs to one test; disposing it starts its deletion.</summary>
public sealed class TestNamespace(ControlPlane controlPlane, string name) : IAsyncDisposable
{
    /// <summary>The namespace's name.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await controlPlane.Api.DeleteAsync(ResourceType.Namespaces, null, Name);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TaskCanceledException or ObjectDisposedException)
        {
            // Already gone, or the plane is: there is nothing left to clean up.
        }
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
