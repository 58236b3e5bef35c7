using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Fleet.Bench;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;

// The operator at fleet size, as deployed: its own process (Release build) against a real API server
// that stores PODS agent pods (API objects with the sidecar in their spec; they do not run) and
// DEFINITIONS AgentMetricDefinitions spread over NAMESPACES namespaces. A client that behaves as
// sidecars do holds one definitions stream per pod, each with its own pod-bound service-account
// token. Measured: resident memory and CPU idle, a definition change reaching every stream, a flip
// of enable-agent-metrics reaching every status, and an operator restart until every stream is back.
//   usage: AgentMetrics.Fleet.Bench [--namespaces 10] [--pods 5000] [--definitions 1000] --out FILE
// With --phase delivery it measures the data path instead (see Delivery):
//   usage: AgentMetrics.Fleet.Bench --phase delivery [--fleets 1000,5000] [--intervals 100,1000] [--series 100] [--seconds 15] --out FILE
var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? throw new ArgumentException("--out FILE is required");
if (Text("--phase", "operator") == "delivery")
{
    var rows = await Delivery.RunAsync(
        [.. Text("--fleets", "1000,5000").Split(',').Select(int.Parse)],
        Option("--series", 100),
        [.. Text("--intervals", "100,1000").Split(',').Select(ms => TimeSpan.FromMilliseconds(int.Parse(ms, CultureInfo.InvariantCulture)))],
        TimeSpan.FromSeconds(Option("--seconds", 15)));
    await File.WriteAllTextAsync(output, rows);
    Console.Write(rows);
    return 0;
}

var namespaceCount = Option("--namespaces", 10);
var podCount = Option("--pods", 5000);
var definitionCount = Option("--definitions", 1000);
const string OperatorNamespace = "agent-metrics-bench";
const int Teams = 5;
var report = new StringBuilder();
var clock = Stopwatch.StartNew();

await using var plane = await ControlPlane.StartAsync();
using var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
using var admin = new HttpClient(plane.Pki.CreateTrustingHandler()) { BaseAddress = plane.ApiServer.Url, Timeout = TimeSpan.FromSeconds(30) };
admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", plane.AdminToken);
await plane.Kubectl.RunAsync("create", "namespace", OperatorNamespace);
var namespaces = Enumerable.Range(0, namespaceCount).Select(i => $"fleet-{i:D2}").ToList();
foreach (var ns in namespaces)
{
    await plane.Kubectl.RunAsync("create", "namespace", ns);
    await plane.Kubectl.RunAsync("create", "serviceaccount", "agent", "-n", ns);
}

// Pods first, as in a running cluster: every agent of the fleet is there before the operator starts.
var pods = Enumerable.Range(0, podCount).Select(i => (Namespace: namespaces[i % namespaceCount], Name: $"agent-{i:D5}", Team: $"t{i / namespaceCount % Teams}")).ToList();
var uids = new Dictionary<(string, string), string>();
var created = clock.Elapsed;
await Parallel.ForEachAsync(pods, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (pod, token) =>
{
    var stored = await client.CreateAsync(ResourceType.Pods, pod.Namespace, AgentPod(pod.Name, pod.Team), KubernetesJsonContext.Default.KubernetesObject, token);
    lock (uids)
    {
        uids[(pod.Namespace, pod.Name)] = stored.Metadata.Uid!;
    }
});
var perNamespace = definitionCount / namespaceCount;
var definitions = namespaces.SelectMany(ns => Enumerable.Range(0, perNamespace).Select(k => (Namespace: ns, Definition: Definition(ns, k)))).ToList();
await Parallel.ForEachAsync(definitions, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (d, token) =>
    await client.CreateAsync(AgentMetricDefinition.Type, d.Namespace, d.Definition, ApiJsonContext.Default.AgentMetricDefinition, token));
Console.WriteLine($"created {podCount} pods and {definitions.Count} definitions in {(clock.Elapsed - created).TotalSeconds:0.0} s");

var tokens = new Dictionary<(string, string), string>();
await Parallel.ForEachAsync(pods, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (pod, token) =>
{
    var value = await BoundTokenAsync(pod.Namespace, pod.Name, uids[(pod.Namespace, pod.Name)], token);
    lock (tokens)
    {
        tokens[(pod.Namespace, pod.Name)] = value;
    }
});

var directory = ProcessRegistry.Current.CreateDirectory("operator");
using (var certificate = plane.Pki.IssueServingCertificate("agent-metrics-operator", ["127.0.0.1"]))
{
    TestPki.WritePem(certificate, Path.Combine(directory, "tls.crt"), Path.Combine(directory, "tls.key"));
}

var url = new Uri($"https://127.0.0.1:{LoopbackPorts.Next()}");
var started = clock.Elapsed;
var operatorProcess = StartOperator("operator-1");
await ReadyAsync(operatorProcess);
var ready = clock.Elapsed - started;
var collecting = await UntilAllAsync("Collecting", started);
report.AppendLine(CultureInfo.InvariantCulture, $"{podCount} agent pods and {definitions.Count} AgentMetricDefinitions in {namespaceCount} namespaces ({podCount / namespaceCount} pods and {perNamespace} definitions each; every pod is selected by one namespace-wide definition and by the {perNamespace / Teams} or so of its team).");
report.AppendLine();
report.AppendLine("| measure | figure | target |");
report.AppendLine("| --- | --- | --- |");
report.AppendLine(CultureInfo.InvariantCulture, $"| operator start → /readyz answers 200 | {ready.TotalSeconds:0.0} s | |");
report.AppendLine(CultureInfo.InvariantCulture, $"| operator start → every definition's status Collecting | {collecting.TotalSeconds:0.0} s | |");

var (rssBeforeStreams, _) = Measure.Memory(operatorProcess.Identity.Pid);
report.AppendLine(CultureInfo.InvariantCulture, $"| operator resident memory with {podCount} pods and {definitions.Count} definitions cached, before any stream | {rssBeforeStreams / 1048576.0:0} MB | |");

// One stream per pod, from one client process, each behaving as the sidecar's DefinitionsClient does.
var handler = plane.Pki.CreateTrustingHandler();
handler.PooledConnectionLifetime = Timeout.InfiniteTimeSpan;
handler.MaxConnectionsPerServer = int.MaxValue;
using var streamHttp = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
using var stop = new CancellationTokenSource();
var streams = pods.Select(p => new FleetStream(streamHttp, url, p.Namespace, p.Name, tokens[(p.Namespace, p.Name)])).ToList();
var opening = clock.Elapsed;
var running = streams.Select(s => s.RunAsync(stop.Token)).ToList();
await UntilTrueAsync(() => streams.All(s => s.Snapshots > 0), TimeSpan.FromMinutes(3), "every stream's first snapshot");
report.AppendLine(CultureInfo.InvariantCulture, $"| {streams.Count} streams opened → each has its first snapshot | {(clock.Elapsed - opening).TotalSeconds:0.0} s | |");

// Idle: everything cached, every stream open, nothing changing (heartbeats only).
await Task.Delay(TimeSpan.FromSeconds(5));
var cpuBefore = Measure.CpuSeconds(operatorProcess.Identity.Pid);
await Task.Delay(TimeSpan.FromSeconds(20));
var idleCpu = (Measure.CpuSeconds(operatorProcess.Identity.Pid) - cpuBefore) / 20;
var (rss, peak) = Measure.Memory(operatorProcess.Identity.Pid);
report.AppendLine(CultureInfo.InvariantCulture, $"| operator resident memory, idle with {podCount} pods cached and {streams.Count} streams open | {rss / 1048576.0:0} MB (peak so far {peak / 1048576.0:0} MB) | < 300 MB |");
report.AppendLine(CultureInfo.InvariantCulture, $"| operator CPU, idle, over 20 s | {idleCpu * 100:0.0} % of one core | < 10 % |");

// A definition change: the namespace-wide definition of every namespace, so every stream must follow.
var changeStart = Stopwatch.GetTimestamp();
await Parallel.ForEachAsync(namespaces, async (ns, token) =>
    await client.PatchAsync(
        AgentMetricDefinition.Type, ns, "fleet-wide", PatchKind.Merge, """{"spec":{"metric":{"help":"Tasks of every agent, changed."}}}""",
        ApiJsonContext.Default.AgentMetricDefinition, cancellationToken: token));
await UntilTrueAsync(() => streams.All(s => s.FleetWideGeneration >= 2), TimeSpan.FromMinutes(2), "every stream's snapshot with the changed definition");
var propagation = streams.Select(s => Stopwatch.GetElapsedTime(changeStart, s.FleetWideChangedAt).TotalMilliseconds).ToList();
report.AppendLine(CultureInfo.InvariantCulture, $"| a definition change → each of the {streams.Count} streams has the new snapshot | p50 {Measure.Quantile(propagation, 0.5):0} ms, p99 {Measure.Quantile(propagation, 0.99):0} ms, max {propagation.Max():0} ms | p99 < 2 s |");

// The flag, off then on: from the ConfigMap written until every definition's status says so, as a
// watch of the definitions shows it (polling a LIST of all of them would load the API server itself).
using var watching = new CancellationTokenSource();
var watched = new AgentMetrics.Kubernetes.Runtime.Informer<AgentMetricDefinition>(client, AgentMetricDefinition.Type, ApiJsonContext.Default.AgentMetricDefinition);
var watchedRun = watched.RunAsync(watching.Token);
await watched.WaitForSyncAsync(CancellationToken.None);
foreach (var (on, reason) in new[] { (false, "FeatureDisabled"), (true, "Collecting") })
{
    var flipped = clock.Elapsed;
    await client.ApplyAsync(
        ResourceType.ConfigMaps, OperatorNamespace, "agent-metrics-config",
        JsonSerializer.Deserialize(
            new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject { ["name"] = "agent-metrics-config", ["namespace"] = OperatorNamespace },
                ["data"] = new JsonObject { ["enable-agent-metrics"] = on ? "true" : "false" },
            }.ToJsonString(),
            KubernetesJsonContext.Default.KubernetesObject)!,
        KubernetesJsonContext.Default.KubernetesObject, "fleet-bench");
    await UntilTrueAsync(
        () => watched.Cache.List() is var all && all.Count == definitions.Count
            && all.All(d => d.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Reason == reason),
        TimeSpan.FromMinutes(5), $"every definition {reason}");
    report.AppendLine(CultureInfo.InvariantCulture, $"| enable-agent-metrics set to {(on ? "true" : "false")} → all {definitions.Count} statuses {reason} | {(clock.Elapsed - flipped).TotalSeconds:0.00} s | 1000 objects within 1 s |");
}

await watching.CancelAsync();
await watchedRun.ContinueWith(_ => { }, TaskScheduler.Default);


// A restart: the operator stops (SIGTERM, as a rollout does) and a new one starts; every stream reconnects.
var throttledBefore = await ApiServerThrottledAsync();
var restart = Stopwatch.GetTimestamp();
await operatorProcess.StopAsync(TimeSpan.FromSeconds(10));
operatorProcess = StartOperator("operator-2");
var reviewSamples = new List<(double Seconds, double Reviews)>();
using var sampler = new HttpClient(plane.Pki.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(10) };
var sampling = Task.Run(async () =>
{
    while (!streams.All(s => s.LastSnapshotAt > restart))
    {
        if (await TokenReviewsAsync() is { } reviews)
        {
            reviewSamples.Add((Stopwatch.GetElapsedTime(restart).TotalSeconds, reviews));
        }

        await Task.Delay(250);
    }
});
await UntilTrueAsync(() => streams.All(s => s.LastSnapshotAt > restart), TimeSpan.FromMinutes(3), "every stream back after the restart");
await sampling;
var back = streams.Select(s => Stopwatch.GetElapsedTime(restart, s.FirstSnapshotAfter(restart)).TotalSeconds).ToList();
var throttled = await ApiServerThrottledAsync() - throttledBefore;
var peakRate = PeakPerSecond(reviewSamples);
report.AppendLine(CultureInfo.InvariantCulture, $"| operator restart → every stream has a snapshot from the new process | p50 {Measure.Quantile(back, 0.5):0.0} s, p99 {Measure.Quantile(back, 0.99):0.0} s, all {back.Max():0.0} s | all within 30 s |");
report.AppendLine(CultureInfo.InvariantCulture, $"| token reviews sent to the API server after the restart | {reviewSamples.LastOrDefault().Reviews:0} in all, at most {peakRate:0} in one second | no 429 |");
report.AppendLine(CultureInfo.InvariantCulture, $"| requests the API server answered 429 during the restart | {throttled:0} | 0 |");
report.AppendLine(CultureInfo.InvariantCulture, $"| stream requests the operator refused during the restart, by status | {FleetStream.RefusalSummary()} | |");
var (rssAfter, peakAfter) = Measure.Memory(operatorProcess.Identity.Pid);
report.AppendLine(CultureInfo.InvariantCulture, $"| new operator's resident memory with every stream back | {rssAfter / 1048576.0:0} MB (peak {peakAfter / 1048576.0:0} MB) | < 300 MB |");
if (await OperatorMetricsAsync() is { } own)
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| new operator's CPU until every stream was back, and the part in GC pauses | {Sum(own, "process_cpu_seconds_total"):0.0} s, {Sum(own, "dotnet_gc_pause_time_seconds_total"):0.0} s in {Sum(own, "dotnet_gc_collections_total"):0} collections | |");
}

// The peer for the flip: the API server alone, with the operator stopped, taking the same 1000 status
// merge patches (the Ready condition's reason and message, as a flip writes them) from a plain client
// with 16 in flight, as the operator has, on the same machine, the streams closed.
await stop.CancelAsync();
await Task.WhenAll(running);
await operatorProcess.StopAsync(TimeSpan.FromSeconds(10));
var current = await client.ListAsync(AgentMetricDefinition.Type, null, ApiJsonContext.Default.AgentMetricDefinition);
var patching = Stopwatch.StartNew();
await Parallel.ForEachAsync(current.Items, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (d, token) =>
{
    var conditions = new JsonArray(new JsonObject
    {
        ["type"] = "Ready",
        ["status"] = "False",
        ["reason"] = "FeatureDisabled",
        ["message"] = "peer: written by the bench with the operator stopped",
        ["lastTransitionTime"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        ["observedGeneration"] = d.Metadata.Generation,
    });
    await client.PatchAsync(
        AgentMetricDefinition.Type, d.Metadata.Namespace, d.Metadata.Name!, PatchKind.Merge,
        new JsonObject { ["status"] = new JsonObject { ["conditions"] = conditions } }.ToJsonString(),
        ApiJsonContext.Default.AgentMetricDefinition, "status", token);
});
report.AppendLine(CultureInfo.InvariantCulture, $"| peer: the API server alone, {current.Items.Count} status patches of these definitions from a plain client, 16 in flight | {patching.Elapsed.TotalSeconds:0.00} s ({current.Items.Count / patching.Elapsed.TotalSeconds:0} writes/s) | |");

await File.WriteAllTextAsync(output, report.ToString());
Console.Write(report);
await operatorProcess.DisposeAsync();
return 0;

int Option(string name, int fallback) => int.Parse(Text(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

string Text(string name, string fallback) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? fallback;

ManagedProcess StartOperator(string identity) => ManagedProcess.Start(
    "agent-metrics-operator", "dotnet",
    [Path.Combine(AppContext.BaseDirectory, "agent-metrics-operator.dll"),
        $"--kubeconfig={plane.KubeconfigPath}", $"--namespace={OperatorNamespace}", $"--identity={identity}", "--output=configmaps",
        $"--listen={url}", "--webhook-certificates=files",
        $"--webhook-cert-file={Path.Combine(directory, "tls.crt")}", $"--webhook-key-file={Path.Combine(directory, "tls.key")}",
        "--sidecar-image=example.invalid/agent-metrics-sidecar:bench"],
    Path.Combine(directory, $"{identity}.log"));

async Task ReadyAsync(ManagedProcess process)
{
    using var http = new HttpClient(plane.Pki.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(5) };
    await UntilAsync(
        async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the operator exited at start:\n{process.LogTail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(url, "/readyz"));
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        },
        TimeSpan.FromSeconds(60),
        "the operator's /readyz");
}

// Polls every 50 ms until every definition's Ready reason is `reason`; the time since `since`.
async Task<TimeSpan> UntilAllAsync(string reason, TimeSpan since)
{
    await UntilAsync(
        async () =>
        {
            var list = await client.ListAsync(AgentMetricDefinition.Type, null, ApiJsonContext.Default.AgentMetricDefinition);
            return list.Items.Count == definitions.Count
                && list.Items.All(d => d.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Reason == reason);
        },
        TimeSpan.FromMinutes(5),
        $"every definition {reason}",
        TimeSpan.FromMilliseconds(50));
    return clock.Elapsed - since;
}

async Task<string> BoundTokenAsync(string ns, string pod, string uid, CancellationToken cancellationToken)
{
    var request = new JsonObject
    {
        ["apiVersion"] = "authentication.k8s.io/v1",
        ["kind"] = "TokenRequest",
        ["spec"] = new JsonObject
        {
            ["expirationSeconds"] = 7200,
            ["boundObjectRef"] = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Pod", ["name"] = pod, ["uid"] = uid },
        },
    };
    using var response = await admin.PostAsync(
        $"/api/v1/namespaces/{ns}/serviceaccounts/agent/token", new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"), cancellationToken);
    var body = await response.Content.ReadAsStringAsync(cancellationToken);
    return response.IsSuccessStatusCode
        ? (string)JsonNode.Parse(body)!["status"]!["token"]!
        : throw new InvalidOperationException($"TokenRequest for {ns}/{pod} answered {(int)response.StatusCode}: {body}");
}

// Reviews the operator sent to the API server (any result but cached), from its own /metrics, over
// one kept-alive connection: a new handshake for each sample did not get through while 5000 streams did.
async Task<double?> TokenReviewsAsync()
{
    try
    {
        var text = await sampler.GetStringAsync(new Uri(url, "/metrics"));
        return text.Split('\n')
            .Where(l => l.StartsWith("agentmetrics_definition_stream_token_reviews_total{", StringComparison.Ordinal) && !l.Contains("result=\"cached\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
    {
        return null;
    }
}

async Task<string?> OperatorMetricsAsync()
{
    using var http = new HttpClient(plane.Pki.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(10) };
    try
    {
        return await http.GetStringAsync(new Uri(url, "/metrics"));
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
    {
        return null;
    }
}

static double Sum(string exposition, string name) => exposition.Split('\n')
    .Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal))
    .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

async Task<double> ApiServerThrottledAsync()
{
    var text = await admin.GetStringAsync("/metrics");
    return text.Split('\n')
        .Where(l => l.StartsWith("apiserver_request_total{", StringComparison.Ordinal) && l.Contains("code=\"429\"", StringComparison.Ordinal))
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}

// The highest rate between two consecutive samples (a sample can take over a second on a loaded machine).
static double PeakPerSecond(List<(double Seconds, double Reviews)> samples) =>
    samples.Zip(samples.Skip(1)).Where(p => p.Second.Seconds > p.First.Seconds)
        .Select(p => (p.Second.Reviews - p.First.Reviews) / (p.Second.Seconds - p.First.Seconds))
        .DefaultIfEmpty(0).Max();

static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, TimeSpan? every = null)
{
    var deadline = Stopwatch.StartNew();
    while (!await condition())
    {
        if (deadline.Elapsed > timeout)
        {
            throw new TimeoutException($"waited {timeout.TotalSeconds:0} s for {what}");
        }

        await Task.Delay(every ?? TimeSpan.FromMilliseconds(100));
    }
}

static Task UntilTrueAsync(Func<bool> condition, TimeSpan timeout, string what) =>
    UntilAsync(() => Task.FromResult(condition()), timeout, what, TimeSpan.FromMilliseconds(10));

static KubernetesObject AgentPod(string name, string team) => JsonSerializer.Deserialize(
    new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = new JsonObject { ["app"] = "agent", ["team"] = team, ["statefulset.kubernetes.io/pod-name"] = name },
        },
        ["spec"] = new JsonObject
        {
            ["serviceAccountName"] = "agent",
            ["containers"] = new JsonArray(
                new JsonObject { ["name"] = "agent", ["image"] = "example.invalid/agent:1" },
                new JsonObject { ["name"] = "agent-metrics-sidecar", ["image"] = "example.invalid/agent-metrics-sidecar:bench" }),
        },
    }.ToJsonString(),
    KubernetesJsonContext.Default.KubernetesObject)!;

static AgentMetricDefinition Definition(string ns, int k) => new()
{
    Metadata = new() { Name = k == 0 ? "fleet-wide" : $"team-metric-{k:D4}", Namespace = ns },
    Spec = new()
    {
        Selector = new() { MatchLabels = new() { [k == 0 ? "app" : "team"] = k == 0 ? "agent" : $"t{k % Teams}" } },
        Metric = new() { Name = k == 0 ? "custom_fleet_tasks" : $"custom_metric_{k:D4}", Type = "counter", Help = "Tasks of every agent." },
        Source = new() { Kind = "Event", Name = k == 0 ? "fleet" : $"event-{k:D4}" },
    },
};
