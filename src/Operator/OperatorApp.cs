using System.Security.Cryptography.X509Certificates;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Operator.Streaming;
using AgentMetrics.Operator.Webhooks;

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
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole();
        var listen = new Uri(settings.Listen);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(
            System.Net.IPAddress.Parse(listen.Host), listen.Port,
            endpoint => endpoint.UseHttps(X509Certificate2.CreateFromPemFile(settings.WebhookCertFile, settings.WebhookKeyFile))));

        client ??= new KubernetesClient(string.IsNullOrEmpty(settings.Kubeconfig)
            ? KubernetesClientConfiguration.Default()
            : Kubeconfig.Load(settings.Kubeconfig));
        builder.Services.AddSingleton(client);
        builder.Services.AddSingleton(services => new OperatorRuntime(client, output, services.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(services => new LeaderElector(
            client, settings.Namespace, "agent-metrics-operator", settings.Identity, logger: services.GetRequiredService<ILogger<LeaderElector>>()));
        builder.Services.AddHostedService<OperatorService>();
        builder.Services.AddSingleton(new MeterTextExporter([RuntimeMetrics.MeterName, StreamMetrics.MeterName], "agentmetrics_"));

        var app = builder.Build();
        var runtime = app.Services.GetRequiredService<OperatorRuntime>();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", () => runtime.Definitions.HasSynced && runtime.Thresholds.HasSynced && runtime.Pods.HasSynced
            ? Results.Text("ok")
            : Results.Text("informers are not synced yet", statusCode: 503));
        var exporter = app.Services.GetRequiredService<MeterTextExporter>();
        app.MapGet("/metrics", () => Results.Text(exporter.Scrape(), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapValidationWebhooks(runtime);
        app.MapDefinitionStream(
            runtime.Feed, new TokenReviewer(client), settings.StreamHeartbeat,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("definitions-stream"), app.Lifetime.ApplicationStopping);
        return app;
    }

    /// <summary>Reads settings from the command line and the environment.</summary>
    public static OperatorSettings Settings(string[] args)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables("AGENTMETRICS_")
            .AddCommandLine(args, new Dictionary<string, string>
            {
                ["--kubeconfig"] = nameof(OperatorSettings.Kubeconfig),
                ["--namespace"] = nameof(OperatorSettings.Namespace),
                ["--identity"] = nameof(OperatorSettings.Identity),
                ["--output"] = nameof(OperatorSettings.Output),
                ["--selector-labels"] = nameof(OperatorSettings.SelectorLabels),
                ["--listen"] = nameof(OperatorSettings.Listen),
                ["--webhook-cert-file"] = nameof(OperatorSettings.WebhookCertFile),
                ["--webhook-key-file"] = nameof(OperatorSettings.WebhookKeyFile),
            })
            .Build();
        var defaults = new OperatorSettings();
        return new OperatorSettings
        {
            Kubeconfig = configuration[nameof(OperatorSettings.Kubeconfig)] ?? defaults.Kubeconfig,
            Namespace = configuration[nameof(OperatorSettings.Namespace)] ?? defaults.Namespace,
            Identity = configuration[nameof(OperatorSettings.Identity)] ?? defaults.Identity,
            Output = configuration[nameof(OperatorSettings.Output)] ?? defaults.Output,
            SelectorLabels = configuration[nameof(OperatorSettings.SelectorLabels)] ?? defaults.SelectorLabels,
            Listen = configuration[nameof(OperatorSettings.Listen)] ?? defaults.Listen,
            WebhookCertFile = configuration[nameof(OperatorSettings.WebhookCertFile)] ?? defaults.WebhookCertFile,
            WebhookKeyFile = configuration[nameof(OperatorSettings.WebhookKeyFile)] ?? defaults.WebhookKeyFile,
        };
    }
}

/// <summary>Runs the informers for the process's lifetime and the controllers while this replica leads.</summary>
internal sealed class OperatorService(OperatorRuntime runtime, LeaderElector elector) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(runtime.RunInformersAsync(stoppingToken), elector.RunAsync(runtime.RunControllersAsync, stoppingToken));
}
