using System.Globalization;

namespace AgentMetrics.Testing;

/// <summary>
/// A real kubelet on <see cref="Containerd"/>'s CRI, registering the node with the control plane.
/// It listens on the node's own address (a loopback one is refused, and the API server reaches it
/// there for logs and exec); authentication is anonymous and authorization AlwaysAllow, for tests only.
/// </summary>
public sealed class Kubelet : LocalServer
{
    private readonly NodeNamespace _namespace;
    private readonly string _kubeconfig;
    private readonly Containerd _containerd;
    private readonly string _config;
    private readonly int _healthzPort = LoopbackPorts.Next();

    private Kubelet(
        string directory, NodeNamespace mountNamespace, string kubeconfig, Containerd containerd, string nodeName, string address, string cgroupRoot, TestPki pki,
        string? clusterDns)
        : base("kubelet", directory)
    {
        _namespace = mountNamespace;
        _kubeconfig = kubeconfig;
        _containerd = containerd;
        NodeName = nodeName;
        Address = address;
        Port = LoopbackPorts.Next();
        using (var serving = pki.IssueServingCertificate(nodeName, [address, nodeName]))
        {
            TestPki.WritePem(serving, Path.Combine(directory, "serving.crt"), Path.Combine(directory, "serving.key"));
        }

        _config = Path.Combine(directory, "config.yaml");
        // No iptables chains (nothing here routes through them, and they would outlive the run); image
        // garbage collection off, since what it would delete cannot be pulled again; no host
        // resolv.conf for pods, which have no route to the machine's name servers, and the node's
        // cluster DNS (ServiceDns) when there is one.
        File.WriteAllText(_config, string.Create(CultureInfo.InvariantCulture, $$"""
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            address: {{address}}
            port: {{Port}}
            readOnlyPort: 0
            healthzBindAddress: 127.0.0.1
            healthzPort: {{_healthzPort}}
            tlsCertFile: {{Path.Combine(directory, "serving.crt")}}
            tlsPrivateKeyFile: {{Path.Combine(directory, "serving.key")}}
            authentication:
              anonymous:
                enabled: true
              webhook:
                enabled: false
            authorization:
              mode: AlwaysAllow
            cgroupDriver: cgroupfs
            cgroupRoot: /{{cgroupRoot}}
            failSwapOn: false
            enforceNodeAllocatable: []
            evictionHard: {}
            makeIPTablesUtilChains: false
            imageGCHighThresholdPercent: 100
            imageGCLowThresholdPercent: 99
            serializeImagePulls: false
            volumePluginDir: {{Path.Combine(directory, "volume-plugins")}}
            resolvConf: ""
            clusterDomain: {{ServiceDns.ClusterDomain}}
            clusterDNS: [{{clusterDns}}]
            """));
    }

    /// <summary>The node's name.</summary>
    public string NodeName { get; }

    /// <summary>The node's address: where the kubelet listens.</summary>
    public string Address { get; }

    /// <summary>The kubelet's HTTPS port (/metrics/cadvisor, /pods, logs and exec).</summary>
    public int Port { get; }

    /// <inheritdoc />
    protected override string FileName => Tools.Nsenter;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        .. _namespace.Enter,
        Tools.Kubelet,
        $"--config={_config}",
        $"--kubeconfig={_kubeconfig}",
        $"--root-dir={Path.Combine(Directory, "root")}",
        $"--cert-dir={Path.Combine(Directory, "pki")}",
        $"--hostname-override={NodeName}",
        $"--node-ip={Address}",
        "--container-runtime=remote",
        $"--container-runtime-endpoint=unix://{_containerd.Socket}",
        // Without it the embedded cAdvisor looks for /run/containerd/containerd.sock and, not finding
        // it, reports pods only, with no series per container.
        $"--containerd={_containerd.Socket}",
        $"--pod-infra-container-image={NodeImages.Pause}",
        "--v=1",
    ];

    /// <summary>Starts the kubelet in <paramref name="mountNamespace"/>; the node registers itself.</summary>
    /// <remarks>With <paramref name="clusterDns"/>, pods of dnsPolicy ClusterFirst resolve names there, in the cluster domain.</remarks>
    public static async Task<Kubelet> StartAsync(
        string directory, NodeNamespace mountNamespace, string kubeconfig, Containerd containerd, string nodeName, string address, string cgroupRoot, TestPki pki,
        string? clusterDns = null)
    {
        var server = new Kubelet(directory, mountNamespace, kubeconfig, containerd, nodeName, address, cgroupRoot, pki, clusterDns);
        await server.StartAsync(TimeSpan.FromSeconds(90));
        return server;
    }

    /// <inheritdoc />
    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        return await AnswersOkAsync(http, new Uri($"http://127.0.0.1:{_healthzPort}/healthz"), cancellationToken);
    }
}
