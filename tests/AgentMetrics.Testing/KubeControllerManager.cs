namespace AgentMetrics.Testing;

/// <summary>
/// A real kube-controller-manager running only what tests rely on: the garbage collector,
/// namespace deletion, service accounts with their tokens, Deployments, and nodes' lifecycle.
/// </summary>
public sealed class KubeControllerManager : LocalServer
{
    private readonly string _kubeconfig;
    private readonly KubeApiServer _apiServer;
    private readonly bool _endpoints;
    private readonly HttpClient _probe;
    private readonly int _port = LoopbackPorts.Next();

    private KubeControllerManager(string directory, string kubeconfig, KubeApiServer apiServer, TestPki pki, bool endpoints)
        : base("kube-controller-manager", directory)
    {
        _kubeconfig = kubeconfig;
        _apiServer = apiServer;
        _endpoints = endpoints;
        _probe = new HttpClient(pki.CreateTrustingHandler());
        using var serving = pki.IssueServingCertificate("kube-controller-manager", ["127.0.0.1"]);
        TestPki.WritePem(serving, Path.Combine(directory, "serving.crt"), Path.Combine(directory, "serving.key"));
    }

    /// <inheritdoc />
    protected override string FileName => Tools.KubeControllerManager;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        $"--kubeconfig={_kubeconfig}",
        $"--authentication-kubeconfig={_kubeconfig}",
        $"--authorization-kubeconfig={_kubeconfig}",
        // nodelifecycle takes a local node's not-ready taint away once its kubelet reports Ready;
        // endpoint, for a plane whose pods serve through Services, lists their ready addresses.
        "--controllers=garbagecollector,namespace,serviceaccount,serviceaccount-token,deployment,replicaset,nodelifecycle"
            + (_endpoints ? ",endpoint" : ""),
        $"--service-account-private-key-file={_apiServer.ServiceAccountKeyFile}",
        $"--root-ca-file={_apiServer.CaFile}",
        "--bind-address=127.0.0.1",
        $"--secure-port={_port}",
        "--port=0",
        $"--tls-cert-file={Path.Combine(Directory, "serving.crt")}",
        $"--tls-private-key-file={Path.Combine(Directory, "serving.key")}",
        "--leader-elect=false",
        "--v=1",
    ];

    /// <summary>Starts the controller manager against <paramref name="apiServer"/>; <paramref name="endpoints"/> adds the endpoint controller.</summary>
    public static async Task<KubeControllerManager> StartAsync(
        string directory, string kubeconfig, KubeApiServer apiServer, TestPki pki, bool endpoints = false)
    {
        var server = new KubeControllerManager(directory, kubeconfig, apiServer, pki, endpoints);
        await server.StartAsync();
        return server;
    }

    /// <inheritdoc />
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersOkAsync(_probe, new Uri($"https://127.0.0.1:{_port}/healthz"), cancellationToken);
}
