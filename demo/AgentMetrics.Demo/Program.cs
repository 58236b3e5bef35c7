using System.Globalization;
using AgentMetrics.Demo;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Operator;
using AgentMetrics.Operator.Certificates;
using AgentMetrics.Testing;
using Microsoft.Extensions.DependencyInjection;

// The whole of agent-metrics on this machine: a real API server and etcd, Prometheus (90 days of
// retention) and Alertmanager, the operator with its webhooks, and a fleet of agent pods, each with a
// real sidecar process fed by a traffic generator. Ctrl-C stops everything.
//   usage: agent-metrics-demo [--agents 20] [--seconds N]   (N: stop by itself after N seconds)
var count = Option("--agents", 20);
var seconds = Option("--seconds", 0);
if (count < 1)
{
    Console.Error.WriteLine("agent-metrics-demo: --agents must be at least 1");
    return 2;
}

using var stop = new CancellationTokenSource();
if (seconds > 0)
{
    stop.CancelAfter(TimeSpan.FromSeconds(seconds));
}

Step("starting etcd, kube-apiserver and kube-controller-manager");
await using var plane = await ControlPlane.StartAsync();
const string System = "agent-metrics-system";
const string Fleet = "agents";
await plane.Kubectl.RunAsync("create", "namespace", System);
await plane.Kubectl.RunAsync("create", "namespace", Fleet);
await plane.Kubectl.RunAsync("label", "namespace", Fleet, "agentmetrics.io/inject=enabled");

Step("starting Alertmanager, Prometheus (90-day retention, a week of history backfilled) and the kubelet stand-in");
await using var receiver = await WebhookReceiver.StartAsync();
await using var alertmanager = await AlertmanagerServer.StartAsync(receiver.Url);
await using var kubelet = await KubeletStandIn.StartAsync(plane);
var rules = ProcessRegistry.Current.CreateDirectory("prometheus-rules");
var prometheusConfig = PrometheusRules.Config(rules, alertmanager.Url, kubelet.CadvisorTarget, "5s");
await using var prometheus = await PrometheusServer.StartWithHistoryAsync(
    prometheusConfig, PrometheusRules.LastWeek(Fleet), "--storage.tsdb.retention.time=90d");

Step("starting the operator (its own CA, the webhooks, the definitions stream)");
var operatorUrl = new Uri($"https://127.0.0.1:{LoopbackPorts.Next()}");
var settings = new OperatorSettings
{
    Kubeconfig = plane.KubeconfigPath,
    Namespace = System,
    Identity = "demo",
    Listen = operatorUrl.ToString(),
    Output = "configmaps",
    WebhookHosts = "127.0.0.1",
    SidecarMode = "push",
    RemoteWriteUrl = prometheus.RemoteWriteUrl.ToString(),
    SidecarOperatorUrl = operatorUrl.ToString(),
    SidecarImage = "agent-metrics-sidecar:demo",
};
// The operator's own log stays out of the way of the demo's output: warnings and errors only.
Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning");
await using var app = OperatorApp.Build(settings);
await app.StartAsync(stop.Token);

// Ctrl-C reaches the operator's host first (it stops on SIGINT and SIGTERM): the demo stops with it.
app.Lifetime.ApplicationStopping.Register(stop.Cancel);
var certificates = app.Services.GetRequiredService<IServingCertificates>();
while (certificates.CaBundle is null)
{
    await Task.Delay(100, stop.Token);
}

await Webhooks.RegisterAsync(plane, operatorUrl, certificates.CaBundle);
await plane.Kubectl.RunAsync("apply", "-f", RepoPaths.Combine("config", "manager", "config.yaml"));
await plane.Kubectl.RunAsync("apply", "-n", Fleet, "-f", RepoPaths.Combine("config", "samples"));

Step($"creating {count} agent pods from Deployments; the webhook injects each one's sidecar");
using var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
var kinds = AgentKinds.For(count);
foreach (var kind in kinds)
{
    await plane.Kubectl.RunWithInputAsync(kind.Deployment().ToJsonString(), "apply", "-n", Fleet, "-f", "-");
}

var fleet = new FleetRunner(client, kubelet, Fleet, kinds);
var running = fleet.RunAsync(stop.Token);
var syncing = PrometheusRules.FollowAsync(plane, prometheus, prometheusConfig, rules, stop.Token);
await fleet.WaitForAsync(count, stop.Token);

Console.WriteLine($"""

    agent-metrics is running: {count} agents, each with its sidecar pushing to Prometheus every 100 ms.

      Prometheus     {prometheus.Url}graph?g0.expr=sum%20by%20(agent)%20(rate(agent_tasks_total%5B1m%5D))&g0.tab=0&g0.range_input=15m
                     try: histogram_quantile(0.99, sum by (agent, le) (rate(agent_task_duration_seconds_bucket[1m])))
                          namespace_agent:agent_task_duration_seconds:p99_5m:fleet_zscore
                            (support-agent, sixteen times slower than the rest, scores far above 3; the others near 0)
                          ALERTS   (its SupportP99Latency goes pending at once and fires after 5m; no other agent alerts)
      Alertmanager   {alertmanager.Url}
      kubectl        kubectl --kubeconfig {plane.KubeconfigPath} get agentmetrics,pods -n {Fleet}
      dashboards     kubectl --kubeconfig {plane.KubeconfigPath} get configmaps -n {System} -l grafana_dashboard=1
                     (Grafana's dashboard sidecar loads these; the JSON is in each ConfigMap's data)

    Ctrl-C stops everything.
    """);

try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

Step("stopping");
await Task.WhenAll(running, syncing);
await app.StopAsync();
return 0;

int Option(string name, int fallback)
{
    var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
    return value is null ? fallback : int.Parse(value, CultureInfo.InvariantCulture);
}

static void Step(string what) => Console.WriteLine($"==> {what}");
