namespace AgentMetrics.Testing;

/// <summary>Finds the programs the tests run. A missing one fails the run with its name, never a skip.</summary>
public static class Tools
{
    /// <summary>etcd, from Debian's etcd-server.</summary>
    public static string Etcd => OnPath("etcd", "Debian package etcd-server");

    /// <summary>Node.js, which runs the JavaScript peers.</summary>
    public static string Node => OnPath("node", "Node.js (Debian packages nodejs and npm)");

    /// <summary>Prometheus, from Debian's prometheus.</summary>
    public static string Prometheus => OnPath("prometheus", "Debian package prometheus");

    /// <summary>promtool, from Debian's prometheus.</summary>
    public static string Promtool => OnPath("promtool", "Debian package prometheus");

    /// <summary>VictoriaMetrics (single node), from Debian's victoria-metrics.</summary>
    public static string VictoriaMetrics => OnPath("victoria-metrics", "Debian package victoria-metrics");

    /// <summary>Alertmanager, from Debian's prometheus-alertmanager.</summary>
    public static string Alertmanager => OnPath("prometheus-alertmanager", "Debian package prometheus-alertmanager");

    /// <summary>Lua 5.1, the language Argo CD runs health checks in, from Debian's lua5.1.</summary>
    public static string Lua => OnPath("lua5.1", "Debian package lua5.1");

    /// <summary>tmux, the real terminal interactive commands are driven in, from Debian's tmux.</summary>
    public static string Tmux => OnPath("tmux", "Debian package tmux");

    /// <summary>kubectl.</summary>
    public static string Kubectl => OnPath("kubectl", "kubectl (present on every machine of this kind)");

    /// <summary>containerd, from Debian's containerd; it finds runc on PATH.</summary>
    public static string Containerd
    {
        get
        {
            OnPath("runc", "Debian package runc");
            OnPath("containerd-shim-runc-v2", "Debian package containerd");
            return OnPath("containerd", "Debian package containerd");
        }
    }

    /// <summary>ctr, containerd's client, from Debian's containerd.</summary>
    public static string Ctr => OnPath("ctr", "Debian package containerd");

    /// <summary>ip, from Debian's iproute2.</summary>
    public static string Ip => OnPath("ip", "Debian package iproute2");

    /// <summary>unshare, from Debian's util-linux.</summary>
    public static string Unshare => OnPath("unshare", "Debian package util-linux");

    /// <summary>nsenter, from Debian's util-linux.</summary>
    public static string Nsenter => OnPath("nsenter", "Debian package util-linux");

    /// <summary>The CNI plugins containerd runs for pod networks, from Debian's containernetworking-plugins.</summary>
    public static string CniPluginDirectory
    {
        get
        {
            const string Directory = "/usr/lib/cni";
            foreach (var plugin in new[] { "bridge", "host-local", "portmap", "loopback" })
            {
                if (!File.Exists(Path.Combine(Directory, plugin)))
                {
                    throw new MissingDependencyException(
                        $"the CNI plugin {plugin} is not in {Directory}; it comes from Debian package containernetworking-plugins; run `make deps`");
                }
            }

            return Directory;
        }
    }

    /// <summary>
    /// The OCI image archives <c>make images</c> builds: $AGENT_METRICS_IMAGES, else artifacts/images.
    /// </summary>
    public static string ImageDirectory
    {
        get
        {
            var directory = Environment.GetEnvironmentVariable("AGENT_METRICS_IMAGES") is { Length: > 0 } fromEnvironment
                ? fromEnvironment
                : RepoPaths.Combine("artifacts", "images");
            foreach (var image in NodeImages.Archives)
            {
                if (!File.Exists(Path.Combine(directory, image)))
                {
                    throw new MissingDependencyException($"the image archive {image} is not in {directory}; run `make images`");
                }
            }

            return directory;
        }
    }

    /// <summary>kubelet, built by hack/install-deps.sh.</summary>
    public static string Kubelet => InKubeBin("kubelet");

    /// <summary>kube-scheduler, built by hack/install-deps.sh.</summary>
    public static string KubeScheduler => InKubeBin("kube-scheduler");

    /// <summary>kube-apiserver, built by hack/install-deps.sh.</summary>
    public static string KubeApiServer => InKubeBin("kube-apiserver");

    /// <summary>kube-controller-manager, built by hack/install-deps.sh.</summary>
    public static string KubeControllerManager => InKubeBin("kube-controller-manager");

    /// <summary>
    /// Where hack/install-deps.sh put the Kubernetes binaries: $AGENT_METRICS_KUBE_BIN, else the
    /// directory it recorded in its cache.
    /// </summary>
    public static string KubeBinDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("AGENT_METRICS_KUBE_BIN") is { Length: > 0 } fromEnvironment)
            {
                return fromEnvironment;
            }

            var cacheHome = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            var cacheRoot = Environment.GetEnvironmentVariable("AGENT_METRICS_CACHE") is { Length: > 0 } cache
                ? cache
                : Path.Combine(cacheHome, "agent-metrics");
            var record = Path.Combine(cacheRoot, "bin-dir");
            return File.Exists(record)
                ? File.ReadAllText(record).Trim()
                : throw new MissingDependencyException(
                    $"kube-apiserver and kube-controller-manager are not built ({record} is missing); run `make deps`");
        }
    }

    private static string InKubeBin(string name)
    {
        var path = Path.Combine(KubeBinDirectory, name);
        return File.Exists(path)
            ? path
            : throw new MissingDependencyException($"{name} is not at {path}; run `make deps` to build it");
    }

    /// <summary>Finds <paramref name="name"/> in the directories of <paramref name="searchPath"/> (PATH by default).</summary>
    internal static string OnPath(string name, string source, string? searchPath = null)
    {
        var path = searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new MissingDependencyException($"{name} is not on PATH; it comes from {source}; run `make deps`");
    }
}
