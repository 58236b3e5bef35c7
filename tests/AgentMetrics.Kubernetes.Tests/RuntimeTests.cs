using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>Informers, controllers and the event recorder against the real API server.</summary>
public sealed class RuntimeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AnInformerIsReadyOnlyAfterItsFirstListAndIndexesByNamespaceAndLabel()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("informer");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        foreach (var (name, tier) in new[] { ("a", "gold"), ("b", "gold"), ("c", "silver") })
        {
            var cm = ClientTests.ConfigMap(ns.Name, name, "v", "1");
            cm.Metadata.Labels = new() { ["tier"] = tier };
            await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, cm, objects);
        }

        var informer = new Informer<KubernetesObject>(client, ResourceType.ConfigMaps, objects, new InformerOptions { PageSize = 2 });
        Assert.False(informer.HasSynced);
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(Patience);

        Assert.True(informer.HasSynced);
        Assert.Equal(["a", "b", "c"], informer.Cache.ListInNamespace(ns.Name).Select(o => o.Metadata.Name).Order());
        Assert.Equal(["a", "b"], informer.Cache.ListByLabel("tier", "gold").Where(o => o.Metadata.Namespace == ns.Name).Select(o => o.Metadata.Name).Order());

        await client.PatchAsync(ResourceType.ConfigMaps, ns.Name, "b", PatchKind.Merge, """{"metadata":{"labels":{"tier":"silver"}}}""", objects);
        await Eventually.UntilAsync(
            () => Task.FromResult(informer.Cache.ListByLabel("tier", "silver").Count(o => o.Metadata.Namespace == ns.Name) == 2),
            Patience, "the label index to follow the relabel");
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task AStatusWriteByTheReconcilerDoesNotTriggerAnotherReconcileButASpecChangeDoes()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("status-only");
        using var client = Clients.Admin(plane);
        var widgets = TestJsonContext.Default.Widget;
        await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w", 1), widgets);
        var reconciles = 0;
        var informer = new Informer<Widget>(client, Widget.Type, widgets, new InformerOptions { Namespace = ns.Name });
        using var controller = new Controller<Widget>("status-only", informer, async (key, token) =>
        {
            Interlocked.Increment(ref reconciles);
            var widget = informer.Cache.Get(key)!;
            widget.Status = new JsonObject { ["observedSize"] = widget.Spec.Size, ["at"] = DateTime.UtcNow.Ticks };
            await client.ReplaceAsync(Widget.Type, key.Namespace, key.Name, widget, widgets, "status", token);
            return ReconcileResult.Done;
        });
        await using var running = Run(informer.RunAsync, controller.RunAsync);

        await Eventually.UntilAsync(
            () => Task.FromResult(informer.Cache.Get(new(ns.Name, "w"))?.Status?["observedSize"]?.GetValue<int>() == 1),
            Patience, "the status written by the first reconcile to reach the cache");
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(1, reconciles);

        await client.PatchAsync(Widget.Type, ns.Name, "w", PatchKind.Merge, """{"spec":{"size":2}}""", widgets);
        await Eventually.UntilAsync(
            () => Task.FromResult(informer.Cache.Get(new(ns.Name, "w"))?.Status?["observedSize"]?.GetValue<int>() == 2),
            Patience, "the spec change to be reconciled");
        Assert.Equal(2, reconciles);
    }

    [Fact]
    public async Task AControllerWhoseKeyStandsForAllReconcilesItAtStartAndForEveryChangeAndRetriesAnyException()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("one-key");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        var informer = new Informer<KubernetesObject>(client, ResourceType.ConfigMaps, objects, new InformerOptions { Namespace = ns.Name });
        var all = new ObjectKey(ns.Name, "everything");
        var seen = new ConcurrentQueue<ObjectKey>();
        var failed = 0;
        using var controller = new Controller<KubernetesObject>("one-key", informer, (key, _) =>
            {
                seen.Enqueue(key);

                // Not an API error: a loop that lists what it catches would stop here for good.
                return Interlocked.Increment(ref failed) == 2 ? throw new InvalidDataException("unexpected") : Task.FromResult(ReconcileResult.Done);
            },
            new ControllerOptions { Workers = 1 })
            .MapsPrimary(_ => [all])
            .ReconcilesOnStart(all);
        await using var running = Run(informer.RunAsync, controller.RunAsync);

        // Nothing in the namespace yet: the start alone reconciles the key.
        await Eventually.UntilAsync(() => Task.FromResult(!seen.IsEmpty), Patience, "the reconcile at start");
        await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ClientTests.ConfigMap(ns.Name, "a", "k", "v"), objects);
        await Eventually.UntilAsync(() => Task.FromResult(seen.Count >= 3), Patience, "a reconcile for the change, failed, then retried");
        Assert.All(seen, key => Assert.Equal(all, key));
        Assert.Equal(0, controller.Queue.Failures(all));
    }

    [Fact]
    public async Task AnUpdateFromStaleDataGetsAConflictAndTheReconcileIsRetriedFromFreshState()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("conflict");
        using var client = Clients.Admin(plane);
        var widgets = TestJsonContext.Default.Widget;
        var stale = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w", 1), widgets);
        await client.PatchAsync(Widget.Type, ns.Name, "w", PatchKind.Merge, """{"spec":{"color":"blue"}}""", widgets);
        var conflicts = 0;
        var attempts = 0;
        var informer = new Informer<Widget>(client, Widget.Type, widgets, new InformerOptions { Namespace = ns.Name });
        using var controller = new Controller<Widget>("conflict", informer, async (key, token) =>
        {
            // The first attempt writes from a copy read before someone else's change.
            var basis = Interlocked.Increment(ref attempts) == 1 ? stale : await client.GetAsync(Widget.Type, key.Namespace, key.Name, widgets, token);
            basis.Status = new JsonObject { ["seenColor"] = basis.Spec.Color ?? "none" };
            try
            {
                await client.ReplaceAsync(Widget.Type, key.Namespace, key.Name, basis, widgets, "status", token);
            }
            catch (KubernetesApiException e) when (e.IsConflict)
            {
                Interlocked.Increment(ref conflicts);
                throw;
            }

            return ReconcileResult.Done;
        });
        await using var running = Run(informer.RunAsync, controller.RunAsync);

        await Eventually.UntilAsync(
            async () => (await client.GetAsync(Widget.Type, ns.Name, "w", widgets)).Status?["seenColor"]?.GetValue<string>() == "blue",
            Patience, "the retried reconcile to write from fresh state");
        Assert.Equal(1, conflicts);
        Assert.True(attempts >= 2);
    }

    [Fact]
    public async Task AFailingReconcileIsRetriedWithGrowingDelaysAndNoLongerOnceItSucceeds()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("backoff");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ClientTests.ConfigMap(ns.Name, "flaky", "v", "1"), objects);
        var key = new ObjectKey(ns.Name, "flaky");
        var calls = new ConcurrentQueue<(TimeSpan At, int FailuresBefore)>();
        var clock = Stopwatch.StartNew();
        var informer = new Informer<KubernetesObject>(client, ResourceType.ConfigMaps, objects, new InformerOptions { Namespace = ns.Name });
        WorkQueue<ObjectKey>? queue = null;
        using var controller = new Controller<KubernetesObject>(
            "backoff",
            informer,
            (_, _) =>
            {
                calls.Enqueue((clock.Elapsed, queue!.Failures(key)));
                return calls.Count <= 5
                    ? throw new InvalidOperationException("not yet")
                    : Task.FromResult(ReconcileResult.Done);
            },
            new ControllerOptions { BackoffBase = TimeSpan.FromMilliseconds(100), BackoffMax = TimeSpan.FromSeconds(10) });
        queue = controller.Queue;
        await using var running = Run(informer.RunAsync, controller.RunAsync);

        await Eventually.UntilAsync(() => Task.FromResult(calls.Count >= 6), Patience, "six reconciles");
        await Task.Delay(TimeSpan.FromSeconds(2));

        var seen = calls.ToArray();
        Assert.Equal(6, seen.Length);
        // Each failure is counted once, so each retry's delay is twice the one before.
        Assert.Equal([0, 1, 2, 3, 4, 5], seen.Select(c => c.FailuresBefore));
        var gaps = seen.Zip(seen.Skip(1), (a, b) => (b.At - a.At).TotalMilliseconds).ToArray();
        var described = string.Join(", ", gaps.Select(g => $"{g:0}ms"));
        for (var i = 0; i < gaps.Length; i++)
        {
            // The backoff is a floor: the n-th retry waits at least base × 2^n. Scheduling only adds to
            // it, by as much as the machine is loaded, so a late retry may outlast the next one's wait.
            Assert.True(gaps[i] >= 100 * Math.Pow(2, i) * 0.95, $"retry {i} came too early: {described}");
        }

        Assert.Equal(0, controller.Queue.Failures(key));
    }

    [Fact]
    public async Task AReconcileRefusedBecauseItsNamespaceIsBeingDeletedIsNotRetried()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("terminating");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        // A finalizer holds the namespace in Terminating for as long as the test needs it.
        var held = ClientTests.ConfigMap(ns.Name, "held", "v", "1");
        held.Metadata.Finalizers = ["agentmetrics.io/test-hold"];
        await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, held, objects);
        await plane.Kubectl.RunAsync("delete", "namespace", ns.Name, "--wait=false");
        var calls = 0;
        var informer = new Informer<KubernetesObject>(client, ResourceType.ConfigMaps, objects, new InformerOptions { Namespace = ns.Name });
        using var controller = new Controller<KubernetesObject>(
            "terminating",
            informer,
            async (key, token) =>
            {
                if (key.Name == "held")
                {
                    Interlocked.Increment(ref calls);
                    await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ClientTests.ConfigMap(ns.Name, "child", "v", "1"), objects, cancellationToken: token);
                }

                return ReconcileResult.Done;
            },
            new ControllerOptions { BackoffBase = TimeSpan.FromMilliseconds(5) });
        try
        {
            await using var running = Run(informer.RunAsync, controller.RunAsync);
            await Eventually.UntilAsync(() => Task.FromResult(Volatile.Read(ref calls) >= 1), Patience, "the first reconcile");

            // A controller that retried would, with a 5 ms backoff, have tried about nine times by now.
            await Task.Delay(TimeSpan.FromSeconds(2));

            Assert.Equal(1, Volatile.Read(ref calls));
            Assert.Equal(0, controller.Queue.Failures(new ObjectKey(ns.Name, "held")));
        }
        finally
        {
            await plane.Kubectl.RunAsync("patch", "configmap", "held", "-n", ns.Name, "--type=merge", "-p", """{"metadata":{"finalizers":null}}""");
        }
    }

    [Fact]
    public async Task AChangeToAnOwnedChildReconcilesItsOwnerAndReconcilesAreCountedInTheMeter()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("owned");
        using var client = Clients.Admin(plane);
        var widgets = TestJsonContext.Default.Widget;
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        var owner = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "owner"), widgets);
        var child = ClientTests.ConfigMap(ns.Name, "child", "v", "1");
        child.Metadata.OwnerReferences = [new OwnerReference
        {
            ApiVersion = Widget.Type.ApiVersion, Kind = "Widget", Name = "owner", Uid = owner.Metadata.Uid!, Controller = true,
        }];
        await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, child, objects);
        var reconciled = new ConcurrentQueue<ObjectKey>();
        long counted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RuntimeMetrics.MeterName && instrument.Name == "controller_runtime_reconcile_total")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "controller", Value: "owned" })
                {
                    Interlocked.Add(ref counted, value);
                }
            }
        });
        listener.Start();
        var widgetInformer = new Informer<Widget>(client, Widget.Type, widgets, new InformerOptions { Namespace = ns.Name });
        var childInformer = new Informer<KubernetesObject>(client, ResourceType.ConfigMaps, objects, new InformerOptions { Namespace = ns.Name });
        using var controller = new Controller<Widget>("owned", widgetInformer, (key, _) =>
        {
            reconciled.Enqueue(key);
            return Task.FromResult(ReconcileResult.Done);
        }).Owns(childInformer);
        await using var running = Run(widgetInformer.RunAsync, childInformer.RunAsync, controller.RunAsync);
        await Eventually.UntilAsync(() => Task.FromResult(!reconciled.IsEmpty), Patience, "the first reconcile");
        await Task.Delay(500);
        var before = reconciled.Count;

        await client.PatchAsync(ResourceType.ConfigMaps, ns.Name, "child", PatchKind.Merge, """{"data":{"v":"2"}}""", objects);

        await Eventually.UntilAsync(() => Task.FromResult(reconciled.Count > before), Patience, "the child's change to reconcile its owner");
        Assert.All(reconciled, key => Assert.Equal(new ObjectKey(ns.Name, "owner"), key));
        await Eventually.UntilAsync(
            () => Task.FromResult(Interlocked.Read(ref counted) >= reconciled.Count), Patience, "the meter to count every reconcile");
    }

    [Fact]
    public async Task EventsAreRecordedAndARepeatBumpsTheCount()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("events");
        using var client = Clients.Admin(plane);
        var widget = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w"), TestJsonContext.Default.Widget);
        var recorder = new EventRecorder(client, "agent-metrics-test");

        await recorder.WarningAsync(widget, "InvalidSpec", "spec.size: must be at least 1");
        await recorder.WarningAsync(widget, "InvalidSpec", "spec.size: must be at least 1");
        await recorder.NormalAsync(widget, "Ready", "all children written");

        var events = await client.ListAsync(ResourceType.Events, ns.Name, KubernetesJsonContext.Default.Event);
        var invalid = Assert.Single(events.Items, e => e.Reason == "InvalidSpec");
        Assert.Equal(2, invalid.Count);
        Assert.Equal("Warning", invalid.Type);
        Assert.Equal(widget.Metadata.Uid, invalid.InvolvedObject.Uid);
        Assert.Single(events.Items, e => e.Reason == "Ready");
        var described = await plane.Kubectl.RunAsync("get", "events", "-n", ns.Name, "--field-selector", "reason=InvalidSpec", "-o", "jsonpath={.items[0].message}");
        Assert.Equal("spec.size: must be at least 1", described);
    }

    [Fact]
    public async Task PostedEventsAreWrittenInOrderByTheSendersAndARepeatBumpsTheCount()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("posted");
        using var client = Clients.Admin(plane);
        var widgets = new List<Widget>();
        for (var i = 0; i < 6; i++)
        {
            widgets.Add(await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, $"w{i}"), TestJsonContext.Default.Widget));
        }

        using var recorder = new EventRecorder(client, "agent-metrics-test");
        foreach (var widget in widgets)
        {
            recorder.Post(widget, "Warning", "InvalidSpec", "spec.size: must be at least 1");
            recorder.Post(widget, "Normal", "Ready", "all children written");
            recorder.Post(widget, "Warning", "InvalidSpec", "spec.size: must be at least 1");
        }

        await recorder.FlushAsync();

        var events = (await client.ListAsync(ResourceType.Events, ns.Name, KubernetesJsonContext.Default.Event)).Items;
        Assert.Equal(0, recorder.Dropped);
        foreach (var widget in widgets)
        {
            var invalid = Assert.Single(events, e => e.InvolvedObject.Uid == widget.Metadata.Uid && e.Reason == "InvalidSpec");
            Assert.Equal(2, invalid.Count);
            var ready = Assert.Single(events, e => e.InvolvedObject.Uid == widget.Metadata.Uid && e.Reason == "Ready");
            Assert.True(invalid.FirstTimestamp <= ready.FirstTimestamp, "an object's events are written in the order they were posted");
        }

        // Stopped, it drops what it is given, and never throws at the reconcile that posts.
        recorder.Dispose();
        recorder.Post(widgets[0], "Warning", "Late", "after the stop");
        Assert.Equal(1, recorder.Dropped);
        using var unstarted = new EventRecorder(client, "agent-metrics-test");
        unstarted.Dispose();
        unstarted.Post(widgets[0], "Warning", "Late", "after the stop");
        Assert.Equal(1, unstarted.Dropped);
    }

    [Fact]
    public async Task AnEventRecordedOnceIsNotRecordedAgainByTheNextProcess()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("once");
        using var client = Clients.Admin(plane);
        var widget = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w"), TestJsonContext.Default.Widget);
        var other = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "v"), TestJsonContext.Default.Widget);

        // Two recorders: the process before a restart, and the one after, which remembers nothing.
        await new EventRecorder(client, "agent-metrics-test").WarningOnceAsync(widget, "Skipped", "port 4318 is taken");
        await new EventRecorder(client, "agent-metrics-test").WarningOnceAsync(widget, "Skipped", "port 4318 is taken");
        await new EventRecorder(client, "agent-metrics-test").WarningOnceAsync(other, "Skipped", "port 4318 is taken");

        var events = await client.ListAsync(ResourceType.Events, ns.Name, KubernetesJsonContext.Default.Event);
        var recorded = Assert.Single(events.Items, e => e.InvolvedObject.Uid == widget.Metadata.Uid);
        Assert.Equal(1, recorded.Count);
        Assert.Equal("Warning", recorded.Type);
        Assert.Single(events.Items, e => e.InvolvedObject.Uid == other.Metadata.Uid);
    }

    /// <summary>Runs informers and controllers in the background until disposed.</summary>
    internal static RunningControllers Run(params Func<CancellationToken, Task>[] loops) => new(loops);
}

/// <summary>Background loops a test started, stopped and awaited on dispose.</summary>
internal sealed class RunningControllers : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops;

    public RunningControllers(params Func<CancellationToken, Task>[] loops)
    {
        _loops = [.. loops.Select(loop => Task.Run(() => loop(_stop.Token)))];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
