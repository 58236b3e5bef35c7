using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Operator.Certificates;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The operator against the real control plane, run in the test process: its runtime alone, or the
/// whole HTTPS app (webhooks, definitions stream, /metrics) as deployed. Tests that run an operator
/// share one collection: two operators with different output modes would fight.
/// </summary>
internal sealed class OperatorHarness : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Func<Task> _stop;
    private readonly Uri? _url;
    private bool _disposed;

    private IServingCertificates? _certificates;

    private OperatorHarness(ControlPlane plane, KubernetesClient client, OperatorRuntime runtime, Uri? url, Func<Task> stop)
    {
        Plane = plane;
        Client = client;
        Runtime = runtime;
        _url = url;
        _stop = stop;
    }

    public ControlPlane Plane { get; }

    /// <summary>An admin client for the test's own reads and writes.</summary>
    public KubernetesClient Client { get; }

    public OperatorRuntime Runtime { get; }

    /// <summary>Where the app listens; only a harness started by <see cref="ServeAsync"/> has one.</summary>
    public Uri Url => _url ?? throw new InvalidOperationException("this harness runs the runtime alone; start it with ServeAsync to serve HTTPS");

    /// <summary>Runs the runtime alone on the shared control plane, controllers included, and waits for its caches.</summary>
    public static async Task<OperatorHarness> StartAsync(OutputOptions? output = null)
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallPrometheusOperatorCrdsAsync();
        var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
        var runtime = new OperatorRuntime(client, output ?? new OutputOptions());
        var stop = new CancellationTokenSource();
        var running = Task.WhenAll(runtime.RunInformersAsync(stop.Token), runtime.RunControllersAsync(stop.Token));
        var harness = new OperatorHarness(plane, client, runtime, null, async () =>
        {
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(15));
            runtime.Dispose();
            stop.Dispose();
        });
        await runtime.Definitions.WaitForSyncAsync(CancellationToken.None).WaitAsync(Patience);
        await runtime.Thresholds.WaitForSyncAsync(CancellationToken.None).WaitAsync(Patience);
        await runtime.Pods.WaitForSyncAsync(CancellationToken.None).WaitAsync(Patience);
        return harness;
    }

    /// <summary>
    /// Serves the whole app on a loopback port with a certificate from the plane's CA, and waits until
    /// it is ready. It leads in <paramref name="leaseNamespace"/>, so each test's operator leads at once.
    /// </summary>
    public static async Task<OperatorHarness> ServeAsync(
        ControlPlane plane, string leaseNamespace, TimeSpan? streamHeartbeat = null, Uri? url = null,
        Func<OperatorSettings, OperatorSettings>? configure = null)
    {
        await plane.InstallPrometheusOperatorCrdsAsync();
        var directory = ProcessRegistry.Current.CreateDirectory("operator");
        using (var certificate = plane.Pki.IssueServingCertificate("agent-metrics-operator", ["127.0.0.1"]))
        {
            TestPki.WritePem(certificate, Path.Combine(directory, "tls.crt"), Path.Combine(directory, "tls.key"));
        }

        url ??= new Uri($"https://127.0.0.1:{LoopbackPorts.Next()}");
        var settings = new OperatorSettings
        {
            Namespace = leaseNamespace,
            Identity = "test",
            Listen = url.ToString(),
            WebhookCertificates = "files",
            WebhookCertFile = Path.Combine(directory, "tls.crt"),
            WebhookKeyFile = Path.Combine(directory, "tls.key"),
            StreamHeartbeat = streamHeartbeat ?? Api.Streaming.DefinitionStream.HeartbeatInterval,
        };
        settings = configure?.Invoke(settings) ?? settings;
        var appClient = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
        var app = OperatorApp.Build(settings, appClient);
        await app.StartAsync();
        var client = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath));
        var harness = new OperatorHarness(plane, client, app.Services.GetRequiredService<OperatorRuntime>(), url, async () =>
        {
            await app.StopAsync();
            await app.DisposeAsync();
            appClient.Dispose();
        })
        {
            _certificates = app.Services.GetRequiredService<IServingCertificates>(),
        };
        using var http = harness.CreateHttpClient();
        await Eventually.UntilAsync(
            async () => (await http.GetAsync(new Uri(url, "/readyz"))).IsSuccessStatusCode, Patience, "the operator to be ready");
        return harness;
    }

    /// <summary>The app's serving certificates: files from the plane's CA, or its own CA in self mode.</summary>
    public IServingCertificates Certificates => _certificates ?? throw new InvalidOperationException("this harness serves no HTTPS");

    /// <summary>An HTTP client that trusts the app's serving certificate, whichever CA signs it now.</summary>
    public HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            var authorities = new X509Certificate2Collection(Plane.Pki.CaCertificate);
            if (_certificates?.CaBundle is { } bundle)
            {
                authorities.ImportFromPem(bundle);
            }

            return errors == SslPolicyErrors.None || Kubernetes.Client.CertificateTrust.TrustedBy(authorities, certificate, errors);
        };
        return new HttpClient(handler);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stop();
        Client.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class OperatorCollection
{
    public const string Name = "operator";
}
