using System.Globalization;

namespace AgentMetrics.Testing;

/// <summary>
/// A real kube-scheduler that binds only the pods naming <see cref="LocalNode.SchedulerName"/>: the
/// tests that play the kubelet themselves keep their pods unbound, as before there was a node.
/// </summary>
public sealed class KubeScheduler : LocalServer
{
    private readonly string _kubeconfig;
    private readonly string _configFile;
    private readonly HttpClient _probe;
    private readonly int _port = LoopbackPorts.Next();
    private readonly int _insecurePort = LoopbackPorts.Next();

    private KubeScheduler(string directory, string kubeconfig, TestPki pki)
        : base("kube-scheduler", directory)
    {
        _kubeconfig = kubeconfig;
        _probe = new HttpClient(pki.CreateTrustingHandler());
        using var serving = pki.IssueServingCertificate("kube-scheduler", ["127.0.0.1"]);
        TestPki.WritePem(serving, Path.Combine(directory, "serving.crt"), Path.Combine(directory, "serving.key"));
        _configFile = Path.Combine(directory, "config.yaml");
        // With a configuration file the scheduler ignores --port=0 and serves plain-HTTP health and
        // metrics at the file's addresses, 0.0.0.0:10251 unless it names others: a second scheduler on
        // the machine (another node, another test run) could not start. A free loopback port of its own.
        File.WriteAllText(_configFile, string.Create(CultureInfo.InvariantCulture, $"""
            apiVersion: kubescheduler.config.k8s.io/v1beta1
            kind: KubeSchedulerConfiguration
            healthzBindAddress: 127.0.0.1:{_insecurePort}
            metricsBindAddress: 127.0.0.1:{_insecurePort}
            clientConnection:
              kubeconfig: {kubeconfig}
            leaderElection:
              leaderElect: false
            profiles:
            - schedulerName: {LocalNode.SchedulerName}
            """));
    }

    /// <inheritdoc />
    protected override string FileName => Tools.KubeScheduler;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        $"--config={_configFile}",
        $"--authentication-kubeconfig={_kubeconfig}",
        $"--authorization-kubeconfig={_kubeconfig}",
        "--bind-address=127.0.0.1",
        $"--secure-port={_port}",
        "--port=0",
        $"--tls-cert-file={Path.Combine(Directory, "serving.crt")}",
        $"--tls-private-key-file={Path.Combine(Directory, "serving.key")}",
        "--v=1",
    ];

    /// <summary>Starts the scheduler against the API server <paramref name="kubeconfig"/> names.</summary>
    public static async Task<KubeScheduler> StartAsync(string directory, string kubeconfig, TestPki pki)
    {
        var server = new KubeScheduler(directory, kubeconfig, pki);
        await server.StartAsync();
        return server;
    }

    /// <inheritdoc />
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersOkAsync(_probe, new Uri($"https://127.0.0.1:{_port}/healthz"), cancellationToken);
}
