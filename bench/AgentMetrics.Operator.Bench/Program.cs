using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Testing;

// The injection webhook under a steady 200 admissions a second, as the API server would send them:
// the operator runs as its own process pinned to core 0, this load generator on core 1. Latency is
// taken from each request's scheduled send time (open loop, so a slow answer cannot slow the
// schedule and hide itself), and the same run measures /healthz on the same server at the same rate:
// the floor of HTTPS and Kestrel on this machine. Then the flag is flipped and the time until the
// webhook behaves accordingly is measured.
//   usage: AgentMetrics.Operator.Bench [--rate 200] [--seconds 30] [--flips 10] --out FILE
var rate = Option("--rate", 200);
var seconds = Option("--seconds", 30);
var flips = Option("--flips", 10);
var output = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? throw new ArgumentException("--out FILE is required");

await using var plane = await ControlPlane.StartAsync();
const string OperatorNamespace = "agent-metrics-bench";
await plane.Kubectl.RunAsync("create", "namespace", OperatorNamespace);
await plane.Kubectl.RunAsync("create", "namespace", "agents");
var directory = ProcessRegistry.Current.CreateDirectory("operator");
using (var certificate = plane.Pki.IssueServingCertificate("agent-metrics-operator", ["127.0.0.1"]))
{
    TestPki.WritePem(certificate, Path.Combine(directory, "tls.crt"), Path.Combine(directory, "tls.key"));
}

var port = LoopbackPorts.Next();
var url = new Uri($"https://127.0.0.1:{port}");
await using var operatorProcess = ManagedProcess.Start(
    "agent-metrics-operator", "taskset",
    ["-c", "0", "dotnet", Path.Combine(AppContext.BaseDirectory, "agent-metrics-operator.dll"),
        $"--kubeconfig={plane.KubeconfigPath}", $"--namespace={OperatorNamespace}", "--identity=bench", "--output=configmaps",
        $"--listen={url}", "--webhook-certificates=files",
        $"--webhook-cert-file={Path.Combine(directory, "tls.crt")}", $"--webhook-key-file={Path.Combine(directory, "tls.key")}",
        "--sidecar-image=example.invalid/agent-metrics-sidecar:bench"],
    Path.Combine(directory, "operator.log"));

using var http = new HttpClient(new SocketsHttpHandler
{
    SslOptions = new SslClientAuthenticationOptions
    {
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            errors == SslPolicyErrors.None
            || AgentMetrics.Kubernetes.Client.CertificateTrust.TrustedBy(new X509Certificate2Collection(plane.Pki.CaCertificate), certificate, errors),
    },
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
})
{ Timeout = TimeSpan.FromSeconds(10) };
await ReadyAsync();

var review = Review();
Func<HttpRequestMessage> admission = () => new HttpRequestMessage(HttpMethod.Post, new Uri(url, "/mutate/pods"))
{
    Content = new StringContent(review, Encoding.UTF8, "application/json"),
};
Func<HttpRequestMessage> health = () => new HttpRequestMessage(HttpMethod.Get, new Uri(url, "/healthz"));

// Warm up both paths (JIT, connections), then measure each at the same rate.
await RunAsync(admission, rate, 5);
await RunAsync(health, rate, 5);
var cpuBefore = CpuSeconds(operatorProcess.Identity.Pid);
var webhook = await RunAsync(admission, rate, seconds);
var cpuWebhook = CpuSeconds(operatorProcess.Identity.Pid) - cpuBefore;
var floor = await RunAsync(health, rate, seconds);

// The flag: from the ConfigMap written to the webhook answering accordingly, polled every 2 ms.
var flipTimes = new List<double>();
for (var i = 0; i < flips; i++)
{
    var on = i % 2 == 1;
    var configMap = new JsonObject
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = "agent-metrics-config", ["namespace"] = OperatorNamespace },
        ["data"] = new JsonObject { ["enable-agent-metrics"] = on ? "true" : "false" },
    }.ToJsonString();
    await plane.Kubectl.RunWithInputAsync(configMap, "apply", "-f", "-");
    var written = Stopwatch.StartNew();
    while (await InjectsAsync() != on)
    {
        if (written.Elapsed > TimeSpan.FromSeconds(30))
        {
            throw new TimeoutException($"the webhook did not follow the flag to {on} in 30 s");
        }

        await Task.Delay(2);
    }

    flipTimes.Add(written.Elapsed.TotalMilliseconds);
}

var report = new StringBuilder();
report.AppendLine(CultureInfo.InvariantCulture, $"{webhook.Count} admissions and {floor.Count} /healthz requests, each at {rate}/s for {seconds} s over HTTPS with keep-alive; the operator pinned to core 0, this client to core 1.");
report.AppendLine();
report.AppendLine("| measure | POST /mutate/pods (a pod with two containers, injected) | baseline: GET /healthz on the same server |");
report.AppendLine("| --- | --- | --- |");
foreach (var (name, q) in new[] { ("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0) })
{
    report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Quantile(webhook.Latencies, q):0.00} ms | {Quantile(floor.Latencies, q):0.00} ms |");
}

report.AppendLine(CultureInfo.InvariantCulture, $"| errors | {webhook.Errors} | {floor.Errors} |");
report.AppendLine(CultureInfo.InvariantCulture, $"| operator CPU while admitting | {cpuWebhook / seconds * 100:0.0}% of one core | |");
report.AppendLine();
report.AppendLine(CultureInfo.InvariantCulture,
    $"Flag flips ({flips}, alternating off and on), ConfigMap written (kubectl apply returned) → webhook answering accordingly: "
    + $"p50 {Quantile(flipTimes, 0.5):0} ms, max {flipTimes.Max():0} ms.");
await File.WriteAllTextAsync(output, report.ToString());
Console.Write(report);
return 0;

int Option(string name, int fallback)
{
    var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    return value is null ? fallback : int.Parse(value, CultureInfo.InvariantCulture);
}

async Task ReadyAsync()
{
    var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
    while (true)
    {
        if (operatorProcess.HasExited)
        {
            throw new InvalidOperationException($"the operator exited at start:\n{operatorProcess.LogTail()}");
        }

        try
        {
            using var response = await http.GetAsync(new Uri(url, "/readyz"));
            if (response.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        if (DateTime.UtcNow > deadline)
        {
            throw new TimeoutException($"the operator was not ready after 60 s:\n{operatorProcess.LogTail()}");
        }

        await Task.Delay(100);
    }
}

async Task<(List<double> Latencies, int Errors, int Count)> RunAsync(Func<HttpRequestMessage> request, int perSecond, int duration)
{
    var total = perSecond * duration;
    var latencies = new double[total];
    var errors = 0;
    var clock = Stopwatch.StartNew();
    var pending = new List<Task>(total);
    for (var i = 0; i < total; i++)
    {
        var due = TimeSpan.FromSeconds((double)i / perSecond);
        var wait = due - clock.Elapsed;
        if (wait > TimeSpan.FromMilliseconds(1))
        {
            await Task.Delay(wait);
        }

        var index = i;
        pending.Add(Task.Run(async () =>
        {
            try
            {
                using var message = request();
                using var response = await http.SendAsync(message);
                await response.Content.ReadAsByteArrayAsync();
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref errors);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref errors);
            }

            latencies[index] = (clock.Elapsed - due).TotalMilliseconds;
        }));
    }

    await Task.WhenAll(pending);
    return ([.. latencies], errors, total);
}

async Task<bool> InjectsAsync()
{
    using var message = admission();
    using var response = await http.SendAsync(message);
    var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    return answer["response"]?["patch"] is not null;
}

static double Quantile(List<double> values, double q)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
}

static double CpuSeconds(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}

static string Review() => new JsonObject
{
    ["apiVersion"] = "admission.k8s.io/v1",
    ["kind"] = "AdmissionReview",
    ["request"] = new JsonObject
    {
        ["uid"] = "0b5e8d2c-1d7a-4f7e-9a51-000000000200",
        ["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "Pod" },
        ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "pods" },
        ["operation"] = "CREATE",
        ["namespace"] = "agents",
        ["userInfo"] = new JsonObject { ["username"] = "system:serviceaccount:kube-system:replicaset-controller" },
        ["object"] = JsonNode.Parse("""
            {
              "apiVersion": "v1", "kind": "Pod",
              "metadata": {
                "generateName": "support-agent-7d9c5b6f8-", "namespace": "agents",
                "labels": {"app.kubernetes.io/name": "support-agent", "app.kubernetes.io/version": "2.3.1", "pod-template-hash": "7d9c5b6f8"},
                "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "support-agent-7d9c5b6f8", "uid": "5a1c", "controller": true}]
              },
              "spec": {
                "serviceAccountName": "support-agent",
                "containers": [
                  {"name": "agent", "image": "example.invalid/support-agent:2.3.1", "ports": [{"containerPort": 8080, "name": "http"}],
                   "env": [{"name": "MODEL", "value": "large"}, {"name": "LOG_LEVEL", "value": "info"}],
                   "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}},
                  {"name": "tools", "image": "example.invalid/tools:1.4.0", "env": [{"name": "TOOLS_PORT", "value": "9000"}]}
                ],
                "volumes": [{"name": "cache", "emptyDir": {}}]
              }
            }
            """),
    },
}.ToJsonString();
