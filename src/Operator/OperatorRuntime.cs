using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Operator.Reconcilers;
using AgentMetrics.Operator.Streaming;
using AgentMetrics.Rendering;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Operator;

/// <summary>
/// The operator's informers, controllers and definitions feed. Informers run on every replica so a
/// new leader starts warm and every replica can serve the feed; controllers run only while leading.
/// </summary>
public sealed class OperatorRuntime : IDisposable
{
    // Each reconcile waits mostly on the API server (an apply, a status write), and a flip of the flag
    // or a restart reconciles every object at once: enough workers keep that many requests in flight.
    private static readonly ControllerOptions StatusWorkers = new() { Workers = 16 };

    private readonly List<Func<CancellationToken, Task>> _informers = [];
    private readonly Informer<KubernetesObject> _configMaps;

    /// <summary>
    /// Builds the informers and controllers; nothing runs until asked. The flag's ConfigMap is read in
    /// operatorNamespace, and enabledByDefault is the flag while the ConfigMap does not say.
    /// </summary>
    public OperatorRuntime(
        KubernetesClient client, OutputOptions output, ILoggerFactory? logging = null, TimeProvider? clock = null,
        string operatorNamespace = "agent-metrics-system", bool enabledByDefault = true, DashboardOptions? dashboards = null)
    {
        var logs = logging ?? NullLoggerFactory.Instance;
        var time = clock ?? TimeProvider.System;
        var configMaps = Informer(new Informer<KubernetesObject>(
            client, ResourceType.ConfigMaps, KubernetesJsonContext.Default.KubernetesObject, new InformerOptions { Namespace = operatorNamespace },
            logs.CreateLogger("informer.operator-configmaps")));
        Feature = new FeatureGate(configMaps, operatorNamespace, enabledByDefault, logs.CreateLogger("feature-gate"));
        _configMaps = configMaps;
        Definitions = Informer(new Informer<AgentMetricDefinition>(client, AgentMetricDefinition.Type, ApiJsonContext.Default.AgentMetricDefinition, logger: logs.CreateLogger("informer.agentmetricdefinitions")));
        Thresholds = Informer(new Informer<AlertThreshold>(client, AlertThreshold.Type, ApiJsonContext.Default.AlertThreshold, logger: logs.CreateLogger("informer.alertthresholds")));
        Pods = Informer(new Informer<KubernetesObject>(
            client, ResourceType.Pods, KubernetesJsonContext.Default.KubernetesObject, logger: logs.CreateLogger("informer.pods"), transform: PodProjection.Trim));
        var adapter = PrometheusOutput.For(output);
        var children = Informer(new Informer<KubernetesObject>(
            client,
            adapter.RulesKind,
            KubernetesJsonContext.Default.KubernetesObject,
            new InformerOptions { LabelSelector = $"{Names.ManagedByLabel}={Names.ManagedBy}" },
            logs.CreateLogger("informer.children")));
        var scrapes = Informer(new Informer<KubernetesObject>(
            client,
            adapter.ScrapeKind,
            KubernetesJsonContext.Default.KubernetesObject,
            new InformerOptions { LabelSelector = $"{Names.ManagedByLabel}={Names.ManagedBy},{Names.ScrapeConfigLabel}" },
            logs.CreateLogger("informer.scrape")));

        AgentIndex = new AgentIndex(Definitions, Pods);
        Feed = new DefinitionFeed(Definitions, Pods, AgentIndex);

        var writer = new OutputWriter(client, adapter, (type, key) =>
            type == adapter.RulesKind ? children.Cache.Get(key) : type == adapter.ScrapeKind ? scrapes.Cache.Get(key) : null);
        Output = writer;
        Events = new EventRecorder(client, "agent-metrics-operator", logs.CreateLogger("events"));
        var events = Events;
        var status = new StatusWriter(client, events);
        // Each controller is built by its reconciler, which says what it follows (as SetupWithManager does).
        DefinitionController = new DefinitionReconciler(Definitions, AgentIndex, writer, status, Feature, time)
            .Setup(children, Pods, StatusWorkers, logs.CreateLogger("controller.agentmetricdefinition"));
        ThresholdController = new ThresholdReconciler(Thresholds, Definitions, writer, status, Feature, time)
            .Setup(children, StatusWorkers, logs.CreateLogger("controller.alertthreshold"));
        Dashboards = new DashboardReconciler(
            client, Definitions, Pods, AgentIndex, configMaps, writer, Feature, operatorNamespace, dashboards ?? new DashboardOptions());
        DashboardController = Dashboards.Setup(logs.CreateLogger("dashboards"));
        PodController = new SkippedInjectionReporter(Pods, events).Setup(logs.CreateLogger("controller.pod"));
        FlagController = new FlagAnnouncer(configMaps, Definitions, Thresholds, Feature, Events, operatorNamespace)
            .Setup(logs.CreateLogger("controller.flag"));
        ScrapeController = new ScrapeReconciler(Pods, writer, Feature).Setup(scrapes, logs.CreateLogger("controller.scrape"));
    }

    /// <summary>Writes what the output mode renders.</summary>
    public OutputWriter Output { get; }

    /// <summary>Records the Events the controllers write about the objects they reconcile.</summary>
    public EventRecorder Events { get; }

    /// <summary>The flag enable-agent-metrics.</summary>
    public FeatureGate Feature { get; }

    /// <summary>Writes the Grafana dashboards and the built-in rules into the operator's namespace.</summary>
    public DashboardReconciler Dashboards { get; }

    /// <summary>Runs <see cref="Dashboards"/> on the shared controller loop.</summary>
    public Controller<AgentMetricDefinition> DashboardController { get; }

    /// <summary>Reports pods the injection had to skip, as Events on them.</summary>
    public Controller<KubernetesObject> PodController { get; }

    /// <summary>Records one Event on the flag's ConfigMap when the flag flips.</summary>
    public Controller<KubernetesObject> FlagController { get; }

    /// <summary>Writes each namespace's scrape configuration while it has injected agents.</summary>
    public Controller<KubernetesObject> ScrapeController { get; }

    /// <summary>True once every informer has listed.</summary>
    public bool HasSynced => Definitions.HasSynced && Thresholds.HasSynced && Pods.HasSynced && _configMaps.HasSynced;

    /// <summary>Waits until every informer has listed, then reads the flag once.</summary>
    public async Task WaitForSyncAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(
            Definitions.WaitForSyncAsync(cancellationToken), Thresholds.WaitForSyncAsync(cancellationToken),
            Pods.WaitForSyncAsync(cancellationToken), _configMaps.WaitForSyncAsync(cancellationToken));
        Feature.Refresh();
    }

    public Informer<AgentMetricDefinition> Definitions { get; }

    public Informer<AlertThreshold> Thresholds { get; }

    public Informer<KubernetesObject> Pods { get; }

    /// <summary>The agent pods of each namespace, grouped as its definitions tell them apart.</summary>
    public AgentIndex AgentIndex { get; }

    /// <summary>What each agent pod's sidecar is sent on the definitions stream, served by every replica.</summary>
    public DefinitionFeed Feed { get; }

    public Controller<AgentMetricDefinition> DefinitionController { get; }

    public Controller<AlertThreshold> ThresholdController { get; }

    /// <summary>Runs every informer until cancelled.</summary>
    public Task RunInformersAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_informers.Select(run => run(cancellationToken)));

    /// <summary>Runs the controllers until cancelled (the leader's work).</summary>
    public Task RunControllersAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(
            DefinitionController.RunAsync(cancellationToken), ThresholdController.RunAsync(cancellationToken), PodController.RunAsync(cancellationToken),
            ScrapeController.RunAsync(cancellationToken), FlagController.RunAsync(cancellationToken), DashboardController.RunAsync(cancellationToken));

    /// <inheritdoc />
    public void Dispose()
    {
        DefinitionController.Dispose();
        ThresholdController.Dispose();
        PodController.Dispose();
        ScrapeController.Dispose();
        FlagController.Dispose();
        DashboardController.Dispose();
        Events.Dispose();
    }

    private Informer<T> Informer<T>(Informer<T> informer)
        where T : class, IKubernetesObject
    {
        _informers.Add(informer.RunAsync);
        return informer;
    }
}
