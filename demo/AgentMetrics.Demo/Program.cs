using System.Globalization;
using AgentMetrics.Demo;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Operator;
using AgentMetrics.Operator.Certificates;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Microsoft.Extensions.DependencyInjection;

// The whole of agent-metrics on this machine: a real API server and etcd, a node (kubelet, containerd,
// runc, a CNI bridge, kube-scheduler) running the images make images built, Prometheus (90 days of
// retention) and Alertmanager, the operator with its webhooks, and a fleet of agent Deployments whose
// pods run the example agent and the injected sidecar; a traffic generator hands each agent its work,
// which the agent reports to its sidecar over 127.0.0.1 inside its pod. Ctrl-C stops everything.
// The node needs root, as a kubelet does (docs/local-cluster.md).
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

Step("starting the node: containerd, the kubelet and kube-scheduler, with the images make images built");
await using var node = await LocalNode.StartAsync(plane);

Step("starting Alertmanager and Prometheus (90-day retention, a week of history backfilled)");
await using var receiver = await WebhookReceiver.StartAsync();
await using var alertmanager = await AlertmanagerServer.StartAsync(receiver.Url);
var rules = ProcessRegistry.Current.CreateDirectory("prometheus-rules");
var prometheusConfig = PrometheusRules.Config(rules, alertmanager.Url, node.KubeletUrl, node.CaFile, "5s");
// At the node's address, where the sidecars in the pods push to it.
await using var prometheus = await PrometheusServer.StartOnAsync(
    node.Address, prometheusConfig, PrometheusRules.LastWeek(Fleet), "--storage.tsdb.retention.time=90d");

Step("starting the operator (its own CA, the webhooks, the definitions stream)");
// At the node's address: the API server calls the webhook there, and the sidecars follow the stream there.
var operatorUrl = new Uri($"https://{node.Address}:{LoopbackPorts.Next()}");
var settings = new OperatorSettings
{
    Kubeconfig = plane.KubeconfigPath,
    Namespace = System,
    Identity = "demo",
    Listen = operatorUrl.ToString(),
    Output = "configmaps",
    WebhookHosts = node.Address,
    SidecarMode = "push",
    RemoteWriteUrl = prometheus.RemoteWriteUrl.ToString(),
    SidecarOperatorUrl = operatorUrl.ToString(),
    SidecarImage = NodeImages.Sidecar,
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

var fleet = new FleetRunner(client, plane, Fleet, kinds);
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
      kubectl        kubectl --kubeconfig {plane.KubeconfigPath} get agentmetrics,pods -n {Fleet} -o wide
                     kubectl --kubeconfig {plane.KubeconfigPath} logs deploy/{kinds[0].Name} -n {Fleet} -c {Names.SidecarContainer}
                     kubectl --kubeconfig {plane.KubeconfigPath} exec deploy/{kinds[0].Name} -n {Fleet} -c {Names.SidecarContainer} -- /app/agent-metrics-sidecar --help
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
