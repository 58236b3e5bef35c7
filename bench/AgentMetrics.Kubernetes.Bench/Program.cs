// Controller-runtime load: N objects of a custom kind created as fast as the API server takes them.
// Measures create→reconcile latency, the runtime's memory with every object cached, and watch events
// per second, next to a peer in the same run: kubectl's own watch of the same objects.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Testing;

var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5000;
var output = args.Length > 1 ? args[1] : null;
const int Creators = 16;

await using var plane = await ControlPlane.StartAsync();
await plane.InstallWidgetCrdAsync();
await using var ns = await plane.CreateNamespaceAsync("bench");
using var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
var widgets = new ResourceType("smoke.agentmetrics.io", "v1", "widgets", "Widget");
var objects = KubernetesJsonContext.Default.KubernetesObject;
var clock = Stopwatch.StartNew();

var baselineHeap = GC.GetTotalMemory(forceFullCollection: true);
var createdAt = new ConcurrentDictionary<string, TimeSpan>();
var reconciledAt = new ConcurrentDictionary<string, TimeSpan>();
var informer = new Informer<KubernetesObject>(client, widgets, objects, new InformerOptions { Namespace = ns.Name });
long watchEvents = 0;
informer.Subscribe(_ => Interlocked.Increment(ref watchEvents));
using var controller = new Controller<KubernetesObject>("bench", informer, (key, _) =>
{
    reconciledAt.TryAdd(key.Name, clock.Elapsed);
    return Task.FromResult(ReconcileResult.Done);
});
using var stop = new CancellationTokenSource();
var loops = new[] { informer.RunAsync(stop.Token), controller.RunAsync(stop.Token) };
await informer.WaitForSyncAsync(CancellationToken.None);

// The peer: kubectl's watch of the same kind, each line stamped as it arrives.
var peerSeenAt = new ConcurrentDictionary<string, TimeSpan>();
var peerInfo = new ProcessStartInfo(Tools.Kubectl)
{
    RedirectStandardOutput = true,
    RedirectStandardError = true,
    UseShellExecute = false,
};
foreach (var a in new[] { "--kubeconfig", plane.KubeconfigPath, "get", "widgets.smoke.agentmetrics.io", "-n", ns.Name, "--watch-only", "-o", "name" })
{
    peerInfo.ArgumentList.Add(a);
}

using var peer = Process.Start(peerInfo)!;
var peerReader = Task.Run(async () =>
{
    while (await peer.StandardOutput.ReadLineAsync() is { } line)
    {
        peerSeenAt.TryAdd(line[(line.IndexOf('/', StringComparison.Ordinal) + 1)..], clock.Elapsed);
    }
});
await Task.Delay(TimeSpan.FromSeconds(2));

var next = -1;
var createStart = clock.Elapsed;
await Task.WhenAll(Enumerable.Range(0, Creators).Select(_ => Task.Run(async () =>
{
    int i;
    while ((i = Interlocked.Increment(ref next)) < count)
    {
        var name = $"w-{i:D5}";
        var widget = new KubernetesObject
        {
            ApiVersion = widgets.ApiVersion,
            Kind = "Widget",
            Metadata = new ObjectMeta { Name = name, Namespace = ns.Name },
            Body = new JsonObject { ["spec"] = new JsonObject { ["size"] = 1 + (i % 10) } },
        };
        createdAt[name] = clock.Elapsed;
        await client.CreateAsync(widgets, ns.Name, widget, objects);
    }
})));
var createEnd = clock.Elapsed;

var deadline = Stopwatch.StartNew();
while ((reconciledAt.Count < count || peerSeenAt.Count < count) && deadline.Elapsed < TimeSpan.FromMinutes(2))
{
    await Task.Delay(50);
}

var lastEvent = reconciledAt.Values.Max();
var cachedHeap = GC.GetTotalMemory(forceFullCollection: true);
var workingSet = Process.GetCurrentProcess().WorkingSet64;
await stop.CancelAsync();
peer.Kill();
await Task.WhenAll(loops);

double[] Latencies(ConcurrentDictionary<string, TimeSpan> seen) =>
    [.. seen.Where(s => createdAt.ContainsKey(s.Key)).Select(s => (s.Value - createdAt[s.Key]).TotalMilliseconds).Order()];
static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

var ours = Latencies(reconciledAt);
var theirs = Latencies(peerSeenAt);
var createSeconds = (createEnd - createStart).TotalSeconds;
var watchSeconds = (lastEvent - createStart).TotalSeconds;
var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"objects created: {count} in {createSeconds:0.00} s ({count / createSeconds:0} creates/s, {Creators} concurrent creators)");
report.AppendLine(CultureInfo.InvariantCulture, $"reconciled: {reconciledAt.Count}; seen by the peer (kubectl get --watch): {peerSeenAt.Count}");
report.AppendLine();
report.AppendLine("| measure | agent-metrics runtime (informer → work queue → reconcile) | peer: kubectl get --watch |");
report.AppendLine("| --- | --- | --- |");
report.AppendLine(CultureInfo.InvariantCulture, $"| create → observed, p50 | {Percentile(ours, 0.50):0.0} ms | {Percentile(theirs, 0.50):0.0} ms |");
report.AppendLine(CultureInfo.InvariantCulture, $"| create → observed, p99 | {Percentile(ours, 0.99):0.0} ms | {Percentile(theirs, 0.99):0.0} ms |");
report.AppendLine(CultureInfo.InvariantCulture, $"| create → observed, max | {ours.LastOrDefault():0.0} ms | {theirs.LastOrDefault():0.0} ms |");
report.AppendLine(CultureInfo.InvariantCulture, $"| watch events/s while creating | {Interlocked.Read(ref watchEvents) / watchSeconds:0} | (bounded by the create rate) |");
report.AppendLine(CultureInfo.InvariantCulture, $"| managed heap with all {count} cached (after full GC) | {(cachedHeap - baselineHeap) / 1048576.0:0.0} MiB above the empty runtime ({cachedHeap / 1048576.0:0.0} MiB total) | — |");
report.AppendLine(CultureInfo.InvariantCulture, $"| process working set | {workingSet / 1048576.0:0} MiB (includes the test harness) | — |");
Console.Write(report);
if (output is not null)
{
    File.WriteAllText(output, report.ToString());
}
