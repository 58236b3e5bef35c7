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

    /// <summary>Alertmanager, from Debian's prometheus-alertmanager.</summary>
    public static string Alertmanager => OnPath("prometheus-alertmanager", "Debian package prometheus-alertmanager");

    /// <summary>kubectl.</summary>
    public static string Kubectl => OnPath("kubectl", "kubectl (present on every machine of this kind)");

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
