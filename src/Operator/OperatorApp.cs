using System.Net.Security;
using System.Security.Authentication;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Operator.Certificates;
using AgentMetrics.Operator.Discovery;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Operator.Streaming;
using AgentMetrics.Operator.Webhooks;
using AgentMetrics.Rendering;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace AgentMetrics.Operator;

/// <summary>
/// The operator process: informers on every replica, controllers only on the leader, and the webhooks,
/// the sidecars' definitions stream and the health endpoints over HTTPS on every replica.
/// </summary>
public static class OperatorApp
{
    /// <summary>Builds the host from settings; <paramref name="client"/> overrides the connection (tests).</summary>
    public static WebApplication Build(OperatorSettings settings, KubernetesClient? client = null)
    {
        var output = settings.ToOutputOptions();
        var sidecar = settings.ToSidecarOptions();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // A timestamp on every line, in UTC, as log pipelines (and kubectl logs --timestamps users) expect.
        builder.Logging.AddJsonConsole(json =>
        {
            json.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            json.UseUtcTimestamp = true;
        });

        // Four lines per request at 200 admissions a second would drown what matters.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        client ??= new KubernetesClient(string.IsNullOrEmpty(settings.Kubeconfig)
            ? KubernetesClientConfiguration.Default(settings.Context is { Length: > 0 } context ? context : null)
            : Kubeconfig.Load(settings.Kubeconfig, settings.Context is { Length: > 0 } named ? named : null))
        {
            UserAgent = $"{OperatorCommandLine.Program}/{typeof(OperatorApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}",
            FieldManager = Names.FieldManager,
        };
        if (settings.WebhookCertificates == "files")
        {
            var files = new FileCertificates(settings.WebhookCertFile, settings.WebhookKeyFile, settings.WebhookCaFile);
            _ = files.Current ?? throw new ArgumentException($"--webhook-cert-file {settings.WebhookCertFile} holds no certificate");
            builder.Services.AddSingleton<IServingCertificates>(files);
        }
        else
        {
            var timings = settings.CertificateTimings ?? new SelfManagedOptions { Namespace = settings.Namespace, Hosts = [] };
            var options = timings with
            {
                Namespace = settings.Namespace,
                SecretName = settings.WebhookSecret,
                Hosts = settings.Hosts(),
                WebhookConfigurations = settings.WebhookConfigurations.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            };
            builder.Services.AddSingleton(services => new SelfManagedCertificates(
                client, options, services.GetRequiredService<ILoggerFactory>().CreateLogger("certificates")));
            builder.Services.AddSingleton<IServingCertificates>(services => services.GetRequiredService<SelfManagedCertificates>());
        }

        // Kestrel asks for the certificate at each handshake, after the host is built. Each handshake is
        // given the certificate context built once per certificate: a bare certificate would have its
        // chain built, and its own native TLS context made, for every one of thousands of connections.
        IServingCertificates? certificates = null;
        var contexts = new CertificateContexts();
        var listen = new Uri(settings.Listen);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(
            System.Net.IPAddress.Parse(listen.Host), listen.Port,
            endpoint => endpoint.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificates?.Current is { } current
                        ? contexts.For(current)
                        : throw new AuthenticationException("no serving certificate yet"),
                }),
            })));

        builder.Services.AddSingleton(client);
        builder.Services.AddSingleton(services => new OperatorRuntime(
            client, output, services.GetRequiredService<ILoggerFactory>(), operatorNamespace: settings.Namespace, enabledByDefault: settings.EnableAgentMetrics,
            dashboards: new DashboardOptions { Folder = settings.DashboardFolder, FolderAnnotation = settings.DashboardFolderAnnotation }));
        builder.Services.AddSingleton(services => new LeaderElector(
            client, settings.Namespace, "agent-metrics-operator", settings.Identity, logger: services.GetRequiredService<ILogger<LeaderElector>>()));
        builder.Services.AddHostedService(services => new OperatorService(
            services.GetRequiredService<OperatorRuntime>(), services.GetRequiredService<LeaderElector>(),
            services.GetService<SelfManagedCertificates>()));
        ProcessMetrics.Register();
        builder.Services.AddSingleton(new MeterTextExporter(new Dictionary<string, string>
        {
            // Controller-runtime's names as they are, the process's and the .NET runtime's (System.Runtime) as client libraries name them, ours under agentmetrics_.
            [RuntimeMetrics.MeterName] = "",
            [ProcessMetrics.MeterName] = "",
            ["System.Runtime"] = "",
            [StreamMetrics.MeterName] = "agentmetrics_",
        }));

        var app = builder.Build();
        var serving = app.Services.GetRequiredService<IServingCertificates>();
        certificates = serving;
        var startup = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("startup");
        var runtime = app.Services.GetRequiredService<OperatorRuntime>();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => runtime.HasSynced
            ? Results.Text("ok")
            : Results.Text("informers are not synced yet", statusCode: 503));
        var exporter = app.Services.GetRequiredService<MeterTextExporter>();
        app.MapGet("/metrics", () => Results.Text(exporter.Scrape(), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapScrapeTargets(() => runtime.Pods.Cache.List());
        app.MapValidationWebhooks(runtime);
        app.MapInjectionWebhook(new InjectionContext
        {
            Sidecar = sidecar,
            Feature = runtime.Feature,
            ExcludedNamespaces = new HashSet<string>(
                ["kube-system", "kube-public", settings.Namespace,
                 .. settings.ExcludedNamespaces.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]),
            OperatorCa = () => serving.CaBundle,
            NativeSidecar = settings.NativeSidecar switch
            {
                "true" => true,
                "false" => false,
                _ => SupportsNativeSidecar(client, startup),
            },
        });
        app.MapDefinitionStream(
            runtime.Feed, new TokenReviewer(client), settings.StreamHeartbeat,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("definitions-stream"), app.Lifetime.ApplicationStopping);
        return app;
    }

    /// <summary>Sidecar init containers (restartPolicy: Always) run on API servers from 1.29; before, they would be refused.</summary>
    private static bool SupportsNativeSidecar(KubernetesClient client, ILogger logger)
    {
        try
        {
            var version = client.ServerVersionAsync().WaitAsync(TimeSpan.FromSeconds(15)).GetAwaiter().GetResult();
            var native = version >= new Version(1, 29);
            logger.LogInformation(
                "the API server is {Version}: the sidecar is injected as {Shape}", version, native ? "a sidecar init container" : "an ordinary container");
            return native;
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TimeoutException)
        {
            logger.LogWarning("the API server's version is unknown ({Error}): the sidecar is injected as an ordinary container", e.Message);
            return false;
        }
    }
}

/// <summary>Runs the informers and certificates for the process's lifetime and the controllers while this replica leads.</summary>
internal sealed class OperatorService(OperatorRuntime runtime, LeaderElector elector, SelfManagedCertificates? certificates) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            runtime.RunInformersAsync(stoppingToken),
            elector.RunAsync(runtime.RunControllersAsync, stoppingToken),
            certificates?.RunAsync(stoppingToken) ?? Task.CompletedTask);
}
