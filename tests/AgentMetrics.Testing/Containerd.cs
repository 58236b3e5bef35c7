using System.Globalization;

namespace AgentMetrics.Testing;

/// <summary>
/// A real containerd serving the CRI to a <see cref="Kubelet"/>: runc, the CNI network a
/// <see cref="LocalNode"/> set up, and root, state and socket of its own, so it shares nothing with
/// any other containerd on the machine. It runs in the node's mount namespace.
/// </summary>
public sealed class Containerd : LocalServer
{
    private readonly NodeNamespace _namespace;
    private readonly string _config;

    private Containerd(string directory, NodeNamespace mountNamespace, string cniConfigDirectory, string snapshotter)
        : base("containerd", directory)
    {
        _namespace = mountNamespace;
        Snapshotter = snapshotter;
        _config = Path.Combine(directory, "config.toml");
        // The pause container asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE; without
        // restrict_oom_score_adj every sandbox fails with runc's "can't get final child's PID from pipe".
        File.WriteAllText(_config, string.Create(CultureInfo.InvariantCulture, $"""
            version = 2
            root = "{Path.Combine(directory, "root")}"
            state = "{Path.Combine(directory, "state")}"
            disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
            [grpc]
              address = "{Socket}"
            [ttrpc]
              address = "{Socket}.ttrpc"
            [debug]
              level = "info"
            [plugins."io.containerd.internal.v1.opt"]
              path = "{Path.Combine(directory, "opt")}"
            [plugins."io.containerd.grpc.v1.cri"]
              sandbox_image = "{NodeImages.Pause}"
              restrict_oom_score_adj = true
              netns_mounts_under_state_dir = true
              disable_apparmor = true
              stream_server_address = "127.0.0.1"
              stream_server_port = "0"
              [plugins."io.containerd.grpc.v1.cri".containerd]
                snapshotter = "{snapshotter}"
                default_runtime_name = "runc"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                  runtime_type = "io.containerd.runc.v2"
                  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                    SystemdCgroup = false
                    Root = "{Path.Combine(directory, "runc")}"
              [plugins."io.containerd.grpc.v1.cri".cni]
                bin_dir = "{Tools.CniPluginDirectory}"
                conf_dir = "{cniConfigDirectory}"
                max_conf_num = 1
            """));
    }

    /// <summary>The CRI and containerd API socket.</summary>
    public string Socket => Path.Combine(Directory, "containerd.sock");

    /// <summary>overlayfs, or native where overlay does not mount.</summary>
    public string Snapshotter { get; }

    /// <inheritdoc />
    protected override string FileName => Tools.Nsenter;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments => [.. _namespace.Enter, Tools.Containerd, $"--config={_config}"];

    /// <summary>Writes the configuration and starts containerd in <paramref name="mountNamespace"/>.</summary>
    public static async Task<Containerd> StartAsync(string directory, NodeNamespace mountNamespace, string cniConfigDirectory)
    {
        var server = new Containerd(directory, mountNamespace, cniConfigDirectory, mountNamespace.Snapshotter);
        await server.StartAsync();
        return server;
    }

    /// <summary>Imports an OCI archive into the namespace the CRI uses, unpacked for its snapshotter.</summary>
    public Task ImportAsync(string archive) =>
        CtrAsync("images", "import", $"--snapshotter={Snapshotter}", archive);

    /// <summary>Runs ctr against this containerd in the CRI's namespace, k8s.io.</summary>
    public Task<string> CtrAsync(params string[] arguments) =>
        Command.RunAsync(Tools.Ctr, ["--address", Socket, "--namespace", "k8s.io", .. arguments]);

    /// <inheritdoc />
    protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        File.Exists(Socket) && (await Command.TryRunAsync(Tools.Ctr, ["--address", Socket, "version"], TimeSpan.FromSeconds(5))).ExitCode == 0;
}
