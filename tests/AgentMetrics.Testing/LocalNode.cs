using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Testing;

/// <summary>
/// A real node for a <see cref="ControlPlane"/>: containerd with runc and a CNI bridge, a kubelet, and
/// a kube-scheduler for the pods that name <see cref="SchedulerName"/>. Pods get addresses on a bridge
/// of the run's own, on a /24 no other network of the machine uses; the bridge's address is the
/// node's, and a pod has routes to the pod network only, so nothing it sends leaves the machine.
/// Disposing it, or the end of the run, kills every container and removes the bridge and cgroups
/// (hack/reap.sh node); a run that dies without cleaning up is swept like its processes.
/// </summary>
public sealed class LocalNode : IAsyncDisposable
{
    /// <summary>The scheduler name of pods meant to run on the node: other pods stay unbound, as without one.</summary>
    public const string SchedulerName = "local-node";

    private static readonly Lazy<Task<LocalNode>> LazyShared = new(async () => await StartAsync(await ControlPlane.SharedAsync()));
    private static readonly Lazy<Task<LocalNode>> LazyInCluster = new(StartInClusterAsync);
    private static readonly ResourceType Nodes = new("", "v1", "nodes", "Node", Namespaced: false);
    private readonly NodeNamespace _namespace;
    private readonly KubeScheduler _scheduler;
    private readonly ServiceDns? _dns;
    private bool _disposed;

    private LocalNode(
        ControlPlane plane, string directory, string bridge, string cgroup, string podSubnet, NodeNamespace mountNamespace,
        Containerd containerd, KubeScheduler scheduler, Kubelet kubelet, ServiceDns? dns)
    {
        Plane = plane;
        _dns = dns;
        Directory = directory;
        Bridge = bridge;
        Cgroup = cgroup;
        PodSubnet = podSubnet;
        _namespace = mountNamespace;
        Containerd = containerd;
        _scheduler = scheduler;
        Kubelet = kubelet;
        Http = new HttpClient(plane.Pki.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(30) };
        CaFile = Path.Combine(directory, "ca.crt");
        File.WriteAllText(CaFile, plane.Pki.CaPem);
    }

    /// <summary>The control plane the node registered with.</summary>
    public ControlPlane Plane { get; }

    /// <summary>The node's directory: containerd's and the kubelet's data, configuration and logs.</summary>
    public string Directory { get; }

    /// <summary>The node's name, as pods' spec.nodeName has it.</summary>
    public string Name => Kubelet.NodeName;

    /// <summary>The node's address, on its bridge; pod addresses come from <see cref="PodSubnet"/>.</summary>
    public string Address => Kubelet.Address;

    /// <summary>The network device the pods' veths are attached to.</summary>
    public string Bridge { get; }

    /// <summary>The kubelet's cgroup root, under which every container of the node runs.</summary>
    public string Cgroup { get; }

    /// <summary>The pods' /24.</summary>
    public string PodSubnet { get; }

    /// <summary>The container runtime.</summary>
    public Containerd Containerd { get; }

    /// <summary>The kubelet.</summary>
    public Kubelet Kubelet { get; }

    /// <summary>The kubelet's HTTPS endpoint, serving with a certificate of the plane's CA.</summary>
    public Uri KubeletUrl => new(string.Create(CultureInfo.InvariantCulture, $"https://{Address}:{Kubelet.Port}"));

    /// <summary>The CA that issued the kubelet's serving certificate, as a PEM file, for a scraper to check it with.</summary>
    public string CaFile { get; }

    /// <summary>A client that trusts the kubelet's certificate.</summary>
    public HttpClient Http { get; }

    /// <summary>The one node of this run's shared control plane, started on first use.</summary>
    public static Task<LocalNode> SharedAsync() => LazyShared.Value;

    /// <summary>
    /// The one node of this run with a control plane of its own for pods that talk to the cluster
    /// (<see cref="StartInClusterAsync"/>), started on first use.
    /// </summary>
    public static Task<LocalNode> SharedInClusterAsync() => LazyInCluster.Value;

    /// <summary>Starts a node for <paramref name="plane"/>; most tests want <see cref="SharedAsync"/>.</summary>
    public static Task<LocalNode> StartAsync(ControlPlane plane) => StartAsync(plane, inCluster: false);

    /// <summary>
    /// Starts a node with a control plane of its own, which it stops with itself, made for pods that
    /// talk to the cluster as an operator's pod does: the API server listens at the node's address,
    /// which pods reach over the bridge, and runs as <see cref="ControlPlaneOptions.ForPods"/> says;
    /// pods resolve Service names through the node's <see cref="ServiceDns"/>. docs/local-cluster.md
    /// says what this leaves out of a managed cluster.
    /// </summary>
    public static Task<LocalNode> StartInClusterAsync() => StartAsync(null, inCluster: true);

    /// <summary>Where pods reach the API server: the address and port the Endpoints of the kubernetes Service name.</summary>
    public Uri ApiServerUrl => Plane.ApiServer.Url;

    private static async Task<LocalNode> StartAsync(ControlPlane? given, bool inCluster)
    {
        var registry = ProcessRegistry.Current;
        var directory = registry.CreateDirectory("node");
        // A Unix socket's path holds at most 107 bytes; the longest the node makes are these two.
        var socket = new[] { Path.Combine(directory, "containerd", "containerd.sock.ttrpc"), Path.Combine(directory, "kubelet", "root", "device-plugins", "kubelet.sock") }
            .MaxBy(path => path.Length)!;
        if (socket.Length > 107)
        {
            System.IO.Directory.Delete(directory);
            throw new InvalidOperationException(
                $"a node under {directory} would need the socket path {socket}, {socket.Length} bytes, and a Unix socket's path "
                + $"holds at most 107: set AGENT_METRICS_TEST_ROOT to a shorter directory (now {ProcessRegistry.RootDirectory})");
        }

        var id = Path.GetFileName(directory)["node-".Length..];
        var bridge = $"agm-{id}";
        var cgroup = $"agent-metrics-{id}";
        // Written before anything exists, so that a run dying half-way is still swept clean.
        await File.WriteAllTextAsync(Path.Combine(directory, "node.env"), $"bridge={bridge}\nnetwork={bridge}\ncgroup={cgroup}\n");
        registry.TrackNode(directory);
        ControlPlane? owned = null;
        ServiceDns? dns = null;
        try
        {
            // The bridge is made here with the node's address, rather than by the CNI plugin with
            // isGateway, which would also switch on IP forwarding for the whole machine.
            await Command.RunAsync(Tools.Ip, "link", "add", bridge, "type", "bridge");
            var octet = await ClaimSubnetAsync(bridge);
            var subnet = $"10.244.{octet}.0/24";
            var address = $"10.244.{octet}.1";
            await Command.RunAsync(Tools.Ip, "link", "set", bridge, "up");
            CreateCgroups(cgroup);
            if (inCluster)
            {
                owned = await ControlPlane.StartAsync(ControlPlaneOptions.ForPods(address));
                dns = ServiceDns.Start(address, owned);
            }

            var plane = given ?? owned!;

            var cni = Sub(directory, "cni");
            await File.WriteAllTextAsync(Path.Combine(cni, "10-agent-metrics.conflist"), CniConfig(bridge, subnet, address, Sub(directory, "ipam")));

            var mountNamespace = await NodeNamespace.StartAsync(directory);
            var containerd = await Containerd.StartAsync(Sub(directory, "containerd"), mountNamespace, cni);
            var images = Tools.ImageDirectory;
            foreach (var archive in NodeImages.Archives)
            {
                await containerd.ImportAsync(Path.Combine(images, archive));
            }

            var scheduler = await KubeScheduler.StartAsync(Sub(directory, "kube-scheduler"), plane.KubeconfigPath, plane.Pki);
            var kubelet = await Kubelet.StartAsync(
                Sub(directory, "kubelet"), mountNamespace, plane.KubeconfigPath, containerd, $"node-{id}", address, cgroup, plane.Pki,
                dns?.Endpoint.Address.ToString());
            var node = new LocalNode(plane, directory, bridge, cgroup, subnet, mountNamespace, containerd, scheduler, kubelet, dns);
            await node.WaitUntilReadyAsync();
            return node;
        }
        catch
        {
            await StopAsync(directory);
            if (dns is not null)
            {
                await dns.DisposeAsync();
            }

            if (owned is not null)
            {
                await owned.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>GET a path of the kubelet's HTTPS API, such as /metrics/cadvisor.</summary>
    public async Task<string> GetFromKubeletAsync(string path)
    {
        using var response = await Http.GetAsync(new Uri(KubeletUrl, path));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Kills every container, stops the kubelet, scheduler and containerd, and removes the bridge and cgroups.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await Kubelet.DisposeAsync();
        await _scheduler.DisposeAsync();
        await StopAsync(Directory);
        await Containerd.DisposeAsync();
        await _namespace.DisposeAsync();
        Http.Dispose();
        // Only a node started with a plane of its own runs a DNS for it.
        if (_dns is not null)
        {
            await _dns.DisposeAsync();
            await Plane.DisposeAsync();
        }
    }

    private static async Task StopAsync(string directory)
    {
        var report = await Command.TryRunAsync("bash", [RepoPaths.Combine("hack", "reap.sh"), "node", directory]);
        ProcessRegistry.Current.UntrackNode(directory);
        if (report.ExitCode != 0)
        {
            throw new InvalidOperationException($"hack/reap.sh node {directory} failed: {report.Stderr}{report.Stdout}");
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        await Eventually.UntilAsync(
            async () =>
            {
                if (Kubelet.Process is not { HasExited: false } process)
                {
                    throw new InvalidOperationException($"the kubelet exited:\n{Kubelet.Process?.LogTail()}");
                }

                var node = await Plane.Api.TryGetAsync(Nodes, null, Name, KubernetesJsonContext.Default.KubernetesObject);
                if (node is null)
                {
                    return false;
                }

                // The kubelet registers the node tainted not-ready; the node lifecycle controller lifts the taint.
                var ready = node.Body["status"]?["conditions"]?.AsArray()
                    .Any(c => (string?)c?["type"] == "Ready" && (string?)c?["status"] == "True") == true;
                var tainted = node.Body["spec"]?["taints"]?.AsArray().Count > 0;
                return ready && !tainted;
            },
            TimeSpan.FromSeconds(90),
            $"node {Name} to be Ready and untainted");
    }

    /// <summary>
    /// Gives <paramref name="bridge"/> the first address of a 10.244.X.0/24 that no other address or
    /// route of the machine touches, and returns X. Another run's node may pick the same X at the same
    /// moment: whichever finds the other's address after adding its own tries again.
    /// </summary>
    private static async Task<int> ClaimSubnetAsync(string bridge)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var octet = RandomNumberGenerator.GetInt32(0, 256);
            var prefix = $"10.244.{octet}.";
            if ((await Command.RunAsync(Tools.Ip, "-4", "-o", "addr", "show") + await Command.RunAsync(Tools.Ip, "-4", "route", "show")).Contains(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            await Command.RunAsync(Tools.Ip, "addr", "add", $"{prefix}1/24", "dev", bridge);
            var holders = (await Command.RunAsync(Tools.Ip, "-4", "-o", "addr", "show")).Split('\n').Count(line => line.Contains($" {prefix}", StringComparison.Ordinal));
            if (holders == 1)
            {
                return octet;
            }

            await Command.RunAsync(Tools.Ip, "addr", "del", $"{prefix}1/24", "dev", bridge);
        }

        throw new InvalidOperationException("no free 10.244.X.0/24 for the node's pods");
    }

    /// <summary>
    /// The kubelet's cgroup root, in every hierarchy, so that its pods' cgroups are this run's alone
    /// and can be found and removed with it.
    /// </summary>
    private static void CreateCgroups(string name)
    {
        const string Root = "/sys/fs/cgroup";
        if (File.Exists(Path.Combine(Root, "cgroup.controllers")))
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Root, name));
            return;
        }

        foreach (var hierarchy in System.IO.Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, "cgroup.procs"))))
        {
            var path = Path.Combine(hierarchy, name);
            System.IO.Directory.CreateDirectory(path);
            // A new cpuset cgroup has no CPUs or memory nodes, and nothing can join it until it has.
            foreach (var file in new[] { "cpuset.cpus", "cpuset.mems" })
            {
                if (File.Exists(Path.Combine(hierarchy, file)))
                {
                    File.WriteAllText(Path.Combine(path, file), File.ReadAllText(Path.Combine(hierarchy, file)).Trim());
                }
            }
        }
    }

    /// <summary>
    /// A bridge on the run's own device with host-local addresses, and portmap for host ports. The
    /// bridge plugin leaves the bridge's address alone (isGateway false); the pods' only route
    /// beyond their /24 is none at all.
    /// </summary>
    private static string CniConfig(string bridge, string subnet, string gateway, string ipamDirectory) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["cniVersion"] = "0.4.0",
            ["name"] = bridge,
            ["plugins"] = new object[]
            {
                new Dictionary<string, object>
                {
                    ["type"] = "bridge",
                    ["bridge"] = bridge,
                    ["isGateway"] = false,
                    ["ipMasq"] = false,
                    ["hairpinMode"] = true,
                    ["ipam"] = new Dictionary<string, object>
                    {
                        ["type"] = "host-local",
                        ["dataDir"] = ipamDirectory,
                        ["ranges"] = new[] { new[] { new Dictionary<string, string> { ["subnet"] = subnet, ["gateway"] = gateway } } },
                    },
                },
                new Dictionary<string, object> { ["type"] = "portmap", ["capabilities"] = new Dictionary<string, bool> { ["portMappings"] = true } },
            },
        });

    private static string Sub(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
