using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The operator's runtime, run in the test process against the real control plane. Tests that run
/// an operator share one collection: two operators with different output modes would fight.
/// </summary>
internal sealed class OperatorHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    private OperatorHarness(ControlPlane plane, OutputOptions output)
    {
        Plane = plane;
        Client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
        Runtime = new OperatorRuntime(Client, output);
        _running = Task.WhenAll(Runtime.RunInformersAsync(_stop.Token), Runtime.RunControllersAsync(_stop.Token));
    }

    public ControlPlane Plane { get; }

    public KubernetesClient Client { get; }

    public OperatorRuntime Runtime { get; }

    public static async Task<OperatorHarness> StartAsync(OutputOptions? output = null)
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallPrometheusOperatorCrdsAsync();
        var harness = new OperatorHarness(plane, output ?? new OutputOptions());
        await harness.Runtime.Definitions.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        await harness.Runtime.Thresholds.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        await harness.Runtime.Pods.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return harness;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(15));
        Runtime.Dispose();
        Client.Dispose();
        _stop.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class OperatorCollection
{
    public const string Name = "operator";
}
