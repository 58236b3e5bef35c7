using System.Diagnostics;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>Two runtime instances contending for one real Lease.</summary>
public sealed class LeaderElectionTests
{
    private static readonly LeaderElectionOptions Fast = new()
    {
        LeaseDuration = TimeSpan.FromSeconds(3),
        RenewDeadline = TimeSpan.FromSeconds(2),
        RetryPeriod = TimeSpan.FromMilliseconds(250),
    };

    [Fact]
    public async Task ExactlyOneLeadsAndAGracefulStopHandsOverAtOnce()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("lease-handover");
        using var client = Clients.Admin(plane);
        await using var a = Candidate.Start(client, ns.Name, "a", Fast);
        await using var b = Candidate.Start(client, ns.Name, "b", Fast);

        await Eventually.UntilAsync(() => Task.FromResult(a.Elector.IsLeader || b.Elector.IsLeader), TimeSpan.FromSeconds(10), "a leader");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.True(a.Elector.IsLeader ^ b.Elector.IsLeader);
        var (leader, follower) = a.Elector.IsLeader ? (a, b) : (b, a);

        var clock = Stopwatch.StartNew();
        await leader.DisposeAsync();
        await Eventually.UntilAsync(() => Task.FromResult(follower.Elector.IsLeader), TimeSpan.FromSeconds(10), "the follower to lead");

        Assert.True(clock.Elapsed < Fast.LeaseDuration, $"handover took {clock.Elapsed}; a released lease should not be waited out");
        var lease = await client.GetAsync(ResourceType.Leases, ns.Name, "test-lease", KubernetesJsonContext.Default.Lease);
        Assert.Equal(follower.Elector.Identity, lease.Spec.HolderIdentity);
    }

    [Fact]
    public async Task WhenTheLeaderVanishesWithoutReleasingTheOtherLeadsWithinTheLeaseDuration()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("lease-crash");
        using var client = Clients.Admin(plane);
        var noRelease = Fast with { ReleaseOnCancel = false };
        await using var a = Candidate.Start(client, ns.Name, "a", noRelease);
        await Eventually.UntilAsync(() => Task.FromResult(a.Elector.IsLeader), TimeSpan.FromSeconds(10), "a to lead");
        await using var b = Candidate.Start(client, ns.Name, "b", noRelease);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(b.Elector.IsLeader);

        var clock = Stopwatch.StartNew();
        await a.DisposeAsync();
        await Eventually.UntilAsync(() => Task.FromResult(b.Elector.IsLeader), TimeSpan.FromSeconds(10), "b to lead");

        Assert.True(clock.Elapsed < Fast.LeaseDuration + TimeSpan.FromSeconds(2), $"takeover took {clock.Elapsed}");
        Assert.True(clock.Elapsed > Fast.LeaseDuration - TimeSpan.FromSeconds(1), $"took over after {clock.Elapsed}, before the lease expired");
    }

    [Fact]
    public async Task ALeaderWhoseLeaseIsTakenStopsItsWorkAtOnce()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("lease-lost");
        using var client = Clients.Admin(plane);
        await using var a = Candidate.Start(client, ns.Name, "a", Fast);
        await Eventually.UntilAsync(() => Task.FromResult(a.Elector.IsLeader), TimeSpan.FromSeconds(10), "a to lead");

        var lease = await client.GetAsync(ResourceType.Leases, ns.Name, "test-lease", KubernetesJsonContext.Default.Lease);
        lease.Spec.HolderIdentity = "intruder";
        lease.Spec.LeaseDurationSeconds = 60;
        lease.Spec.RenewTime = DateTimeOffset.UtcNow;
        await client.ReplaceAsync(ResourceType.Leases, ns.Name, "test-lease", lease, KubernetesJsonContext.Default.Lease);

        await a.WorkStopped.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(a.Elector.IsLeader);
    }
}

/// <summary>A candidate whose leader work runs until its token is cancelled.</summary>
internal sealed class Candidate : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private bool _disposed;

    private Candidate(LeaderElector elector) => Elector = elector;

    public LeaderElector Elector { get; }

    public TaskCompletionSource WorkStopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static Candidate Start(Client.KubernetesClient client, string @namespace, string identity, LeaderElectionOptions options)
    {
        var candidate = new Candidate(new LeaderElector(client, @namespace, "test-lease", identity, options));
        candidate._running = Task.Run(() => candidate.Elector.RunAsync(
            async token =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                finally
                {
                    candidate.WorkStopped.TrySetResult();
                }
            },
            candidate._stop.Token));
        return candidate;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stop.CancelAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
