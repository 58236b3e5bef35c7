namespace AgentMetrics.Testing;

/// <summary>A namespace that belongs to one test; disposing it starts its deletion.</summary>
public sealed class TestNamespace(ControlPlane controlPlane, string name) : IAsyncDisposable
{
    /// <summary>The namespace's name.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public async ValueTask DisposeAsync() =>
        await controlPlane.Kubectl.TryRunAsync(null, "delete", "namespace", Name, "--wait=false");

    /// <inheritdoc />
    public override string ToString() => Name;
}
