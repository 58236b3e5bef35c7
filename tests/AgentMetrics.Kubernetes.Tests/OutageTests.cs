using System.Collections.Concurrent;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>
/// Takes the API server away from the runtime. These tests stop an API server, so they get a
/// control plane of their own instead of the shared one.
/// </summary>
public sealed class OutageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task AnInformerRecoversFromAnOutageRelistsOnGoneAndReportsWhatWasDeletedMeanwhile()
    {
        await using var plane = await ControlPlane.StartAsync();
        await using var ns = await plane.CreateNamespaceAsync("outage");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        foreach (var name in new[] { "kept", "doomed", "changed" })
        {
            await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ClientTests.ConfigMap(ns.Name, name, "v", "1"), objects);
        }

        var deleted = new ConcurrentQueue<string>();
        var informer = new Informer<KubernetesObject>(
            client, ResourceType.ConfigMaps, objects,
            new InformerOptions { Namespace = ns.Name, InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1) });
        informer.Subscribe(change =>
        {
            if (change.Type == WatchEventType.Deleted)
            {
                deleted.Enqueue(change.Object.Metadata.Name!);
            }
        });
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(3, informer.Cache.ListInNamespace(ns.Name).Count);

        // The informer's API server goes away; the cluster changes through another one meanwhile.
        await plane.ApiServer.StopAsync();
        var (second, secondKubectl) = await plane.StartSecondApiServerAsync();
        await using (second)
        {
            await secondKubectl.RunAsync("delete", "configmap", "doomed", "-n", ns.Name);
            await secondKubectl.RunAsync("patch", "configmap", "changed", "-n", ns.Name, "--type=merge", "-p", """{"data":{"v":"2"}}""");
            await secondKubectl.RunAsync("create", "configmap", "born", "-n", ns.Name, "--from-literal=v=1");
        }

        await plane.ApiServer.StartAsync();

        await Eventually.UntilAsync(
            async () =>
            {
                var fresh = await client.ListAsync(ResourceType.ConfigMaps, ns.Name, objects);
                var cached = informer.Cache.ListInNamespace(ns.Name);
                return fresh.Items.Select(Describe).Order().SequenceEqual(cached.Select(Describe).Order());
            },
            Patience,
            "the informer's cache to equal a fresh list");
        Assert.Equal(["doomed"], deleted);
        Assert.Equal("2", informer.Cache.Get(new(ns.Name, "changed"))!.Body["data"]!["v"]!.GetValue<string>());
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task ALeaderThatCannotRenewStopsReconciling()
    {
        await using var plane = await ControlPlane.StartAsync();
        await using var ns = await plane.CreateNamespaceAsync("renew");
        using var client = Clients.Admin(plane);
        var options = new LeaderElectionOptions
        {
            LeaseDuration = TimeSpan.FromSeconds(3),
            RenewDeadline = TimeSpan.FromSeconds(2),
            RetryPeriod = TimeSpan.FromMilliseconds(250),
        };
        await using var leader = Candidate.Start(client, ns.Name, "a", options);
        await Eventually.UntilAsync(() => Task.FromResult(leader.Elector.IsLeader), Patience, "a to lead");

        await plane.ApiServer.StopAsync();

        await leader.WorkStopped.Task.WaitAsync(options.RenewDeadline + options.RetryPeriod + TimeSpan.FromSeconds(3));
        Assert.False(leader.Elector.IsLeader);
        await plane.ApiServer.StartAsync();
    }

    private static string Describe(KubernetesObject obj) => $"{obj.Metadata.Name}@{obj.Metadata.ResourceVersion}";
}
