using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Testing;

/// <summary>
/// A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager,
/// with a generated admin kubeconfig and every CRD under config/crd/ installed. There is no kubelet:
/// <see cref="MarkPodRunningAsync"/> plays its part, or a <see cref="LocalNode"/> runs pods; a node's
/// own plane (<see cref="ControlPlaneOptions.ForPods"/>) serves at the node's address instead.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private static readonly Lazy<Task<ControlPlane>> LazyShared = new(() => StartAsync());
    private static readonly ResourceType Crds = new(
        "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", Namespaced: false);

    private readonly Lazy<KubernetesClient> _api;
    private int _nextPodAddress = 1;

    private ControlPlane(
        string directory, TestPki pki, string adminToken, EtcdServer etcd, KubeApiServer apiServer,
        KubeControllerManager controllerManager, string kubeconfigPath)
    {
        Directory = directory;
        Pki = pki;
        AdminToken = adminToken;
        Etcd = etcd;
        ApiServer = apiServer;
        ControllerManager = controllerManager;
        KubeconfigPath = kubeconfigPath;
        Kubectl = new Kubectl(kubeconfigPath);
        _api = new(() => new KubernetesClient(Kubeconfig.Load(kubeconfigPath)));
    }

    /// <summary>The directory holding every server's data, configuration and log.</summary>
    public string Directory { get; }

    /// <summary>The CA that signed the API server's certificate; it can issue more.</summary>
    public TestPki Pki { get; }

    /// <summary>A bearer token in group system:masters.</summary>
    public string AdminToken { get; }

    /// <summary>The etcd the API server stores into.</summary>
    public EtcdServer Etcd { get; }

    /// <summary>The API server; stop and start it to test clients against an outage.</summary>
    public KubeApiServer ApiServer { get; }

    /// <summary>The garbage collector, namespace and service-account controllers.</summary>
    public KubeControllerManager ControllerManager { get; }

    /// <summary>An admin kubeconfig for kubectl and clients.</summary>
    public string KubeconfigPath { get; }

    /// <summary>kubectl bound to <see cref="KubeconfigPath"/>.</summary>
    public Kubectl Kubectl { get; }

    /// <summary>
    /// An admin API client, for what the test library itself waits on and sets up (namespaces, nodes,
    /// CRDs): a kubectl process costs about 0.3 s of CPU, and a run polls hundreds of times.
    /// </summary>
    public KubernetesClient Api => _api.Value;

    /// <summary>The one control plane shared by every test in this run, started on first use.</summary>
    public static Task<ControlPlane> SharedAsync() => LazyShared.Value;

    /// <summary>Starts a new control plane; most tests want <see cref="SharedAsync"/> instead.</summary>
    public static async Task<ControlPlane> StartAsync(ControlPlaneOptions? options = null)
    {
        options ??= new ControlPlaneOptions();
        var registry = ProcessRegistry.Current;
        var directory = registry.CreateDirectory("control-plane");
        var pki = TestPki.Create();
        var adminToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

        var etcd = await EtcdServer.StartAsync(Sub(directory, "etcd"));
        var apiServer = await KubeApiServer.StartAsync(Sub(directory, "kube-apiserver"), etcd.ClientUrl, pki, adminToken, options: options);
        var kubeconfig = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(kubeconfig, KubeconfigWriter.ForToken(apiServer.Url, pki.CaPem, adminToken));
        var controllerManager = await KubeControllerManager.StartAsync(
            Sub(directory, "kube-controller-manager"), kubeconfig, apiServer, pki, endpoints: options.InCluster);

        var plane = new ControlPlane(directory, pki, adminToken, etcd, apiServer, controllerManager, kubeconfig);
        var crds = RepoPaths.Combine("config", "crd");
        if (System.IO.Directory.Exists(crds))
        {
            await plane.InstallCrdsAsync(crds);
        }

        return plane;
    }

    /// <summary>Applies CRD manifests (a file or a directory) and waits until each is Established.</summary>
    public async Task InstallCrdsAsync(string path)
    {
        var applied = await Kubectl.RunAsync("apply", "--server-side", "-f", path, "-o", "name");
        var names = applied.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var name in names)
        {
            var crd = name[(name.IndexOf('/') + 1)..];
            await Eventually.UntilAsync(
                async () =>
                {
                    var found = await Api.TryGetAsync(Crds, null, crd, KubernetesJsonContext.Default.KubernetesObject);
                    return found?.Body["status"]?["conditions"]?.AsArray()
                        .Any(c => (string?)c?["type"] == "Established" && (string?)c?["status"] == "True") == true;
                },
                TimeSpan.FromSeconds(30),
                $"CRD {crd} to be Established");
        }
    }

    /// <summary>
    /// Installs the test-only Widget kind (smoke.agentmetrics.io/v1, namespaced, with a status
    /// subresource and a schema requiring spec.size ≥ 1) for tests that need a custom resource of their own.
    /// </summary>
    public Task InstallWidgetCrdAsync() =>
        InstallCrdsAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "widgets-crd.yaml"));

    /// <summary>Installs stand-ins for the Prometheus Operator's PrometheusRule and PodMonitor CRDs.</summary>
    public async Task InstallPrometheusOperatorCrdsAsync()
    {
        await InstallCrdsAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "monitoring.coreos.com_prometheusrules.yaml"));
        await InstallCrdsAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "monitoring.coreos.com_podmonitors.yaml"));
    }

    /// <summary>
    /// Starts a second API server on the same etcd, with a kubeconfig of its own: a way to change
    /// cluster state while <see cref="ApiServer"/> is stopped, as another replica of the API would.
    /// </summary>
    public async Task<(KubeApiServer Server, Kubectl Kubectl)> StartSecondApiServerAsync()
    {
        var directory = Sub(Directory, $"kube-apiserver-{Guid.NewGuid():N}"[..23]);
        var second = await KubeApiServer.StartAsync(directory, Etcd.ClientUrl, Pki, AdminToken, ApiServer.ServiceAccountKeyFile);
        var kubeconfig = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(kubeconfig, KubeconfigWriter.ForToken(second.Url, Pki.CaPem, AdminToken));
        return (second, new Kubectl(kubeconfig));
    }

    /// <summary>Creates a namespace of its own for one test; disposing it deletes the namespace.</summary>
    public async Task<TestNamespace> CreateNamespaceAsync(string prefix, IReadOnlyDictionary<string, string>? labels = null)
    {
        var name = $"{prefix}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant()}";
        var created = new KubernetesObject
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new ObjectMeta { Name = name, Labels = labels?.ToDictionary() },
        };
        await Api.CreateAsync(ResourceType.Namespaces, null, created, KubernetesJsonContext.Default.KubernetesObject);
        return new TestNamespace(this, name);
    }

    /// <summary>
    /// Plays the kubelet: marks a pod Running and Ready with a loopback pod IP of its own, through the
    /// pods/status subresource, and returns that IP.
    /// </summary>
    public async Task<string> MarkPodRunningAsync(string @namespace, string pod)
    {
        var n = Interlocked.Increment(ref _nextPodAddress);
        var ip = string.Create(CultureInfo.InvariantCulture, $"127.0.{n / 250}.{(n % 250) + 2}");
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var status = JsonSerializer.Serialize(new
        {
            status = new
            {
                phase = "Running",
                podIP = ip,
                podIPs = new[] { new { ip } },
                hostIP = "127.0.0.1",
                startTime = now,
                conditions = new[] { new { type = "Ready", status = "True", lastTransitionTime = now } },
            },
        });
        await Kubectl.RunAsync("patch", "pod", pod, "-n", @namespace, "--subresource=status", "--type=merge", "-p", status);
        return ip;
    }

    /// <summary>Stops the controller manager, the API server and etcd.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_api.IsValueCreated)
        {
            _api.Value.Dispose();
        }

        await ControllerManager.DisposeAsync();
        await ApiServer.DisposeAsync();
        await Etcd.DisposeAsync();
        Pki.Dispose();
    }

    private static string Sub(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }
}
