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

        var writer = new OutputWriter(client, adapter);
        Events = new EventRecorder(client, "agent-metrics-operator", logs.CreateLogger("events"));
        var events = Events;
        var status = new StatusWriter(client, events);
        var definitionReconciler = new DefinitionReconciler(Definitions, AgentIndex, writer, status, Feature, time);
        var thresholdReconciler = new ThresholdReconciler(Thresholds, Definitions, writer, status, Feature, time);

        DefinitionController = new Controller<AgentMetricDefinition>(
                "agentmetricdefinition", Definitions, definitionReconciler.ReconcileAsync, StatusWorkers, logs.CreateLogger("controller.agentmetricdefinition"))
            .Owns(children)
            .Watches(Pods, change => Agents.SetChanged(change)
                ? DefinitionsSelecting(change.Object.Metadata.Namespace, change.Old?.Metadata.Labels, change.Object.Metadata.Labels)
                : [])
            .Watches(Definitions, DefinitionsAffectedBy);
        ThresholdController = new Controller<AlertThreshold>(
                "alertthreshold", Thresholds, thresholdReconciler.ReconcileAsync, StatusWorkers, logs.CreateLogger("controller.alertthreshold"))
            .Owns(children)
            .Watches(Definitions, change => Controller<AgentMetricDefinition>.IsRealChange(change.Old, change.Object)
                ? InNamespace(Thresholds, change.Object.Metadata.Namespace)
                : []);
        Dashboards = new DashboardReconciler(
            client, Definitions, Pods, AgentIndex, configMaps, writer, Feature, operatorNamespace, dashboards ?? new DashboardOptions(),
            logs.CreateLogger("dashboards"));
        PodController = new Controller<KubernetesObject>(
            "pod", Pods, new SkippedInjectionReporter(Pods, events).ReconcileAsync, logger: logs.CreateLogger("controller.pod"));
        var announcer = new FlagAnnouncer(configMaps, Definitions, Thresholds, Feature, Events, operatorNamespace);
        FlagController = new Controller<KubernetesObject>(
            "flag", configMaps, announcer.ReconcileAsync, logger: logs.CreateLogger("controller.flag"));
        ScrapeController = new Controller<KubernetesObject>(
                "scrape", scrapes, new ScrapeReconciler(Pods, writer, Feature).ReconcileAsync, logger: logs.CreateLogger("controller.scrape"))
            .Watches(Pods, ScrapeReconciler.Affected);

        // A flip of the flag concerns every object: requeue them all, so each status says so within a moment.
        Feature.Changed += enabled =>
        {
            announcer.Flipped(enabled);
            foreach (var definition in Definitions.Cache.List())
            {
                DefinitionController.Queue.Add(definition.Key());
            }

            foreach (var threshold in Thresholds.Cache.List())
            {
                ThresholdController.Queue.Add(threshold.Key());
            }

            FlagController.Queue.Add(announcer.Key);
            foreach (var @namespace in Pods.Cache.List().Where(Agents.Injected).Select(p => p.Metadata.Namespace!).Distinct())
            {
                ScrapeController.Queue.Add(ScrapeReconciler.KeyOf(@namespace));
            }
        };
    }

    /// <summary>Records the Events the controllers write about the objects they reconcile.</summary>
    public EventRecorder Events { get; }

    /// <summary>The flag enable-agent-metrics.</summary>
    public FeatureGate Feature { get; }

    /// <summary>Writes the Grafana dashboards and the built-in rules into the operator's namespace.</summary>
    public DashboardReconciler Dashboards { get; }

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
            ScrapeController.RunAsync(cancellationToken), FlagController.RunAsync(cancellationToken), Dashboards.RunAsync(cancellationToken));

    /// <inheritdoc />
    public void Dispose()
    {
        DefinitionController.Dispose();
        ThresholdController.Dispose();
        PodController.Dispose();
        ScrapeController.Dispose();
        FlagController.Dispose();
        Dashboards.Dispose();
        Events.Dispose();
    }

    private Informer<T> Informer<T>(Informer<T> informer)
        where T : class, IKubernetesObject
    {
        _informers.Add(informer.RunAsync);
        return informer;
    }

    private static IEnumerable<ObjectKey> InNamespace<T>(Informer<T> informer, string? @namespace)
        where T : class, IKubernetesObject =>
        @namespace is null ? [] : informer.Cache.ListInNamespace(@namespace).Select(o => o.Key());

    /// <summary>
    /// The other definitions whose validity a change can alter. Conflicts count only older
    /// definitions, so an addition or change affects those sharing its metric name (a type clash), and
    /// only a deletion can free room under the per-agent cap for the rest of the namespace.
    /// </summary>
    private IEnumerable<ObjectKey> DefinitionsAffectedBy(InformerEvent<AgentMetricDefinition> change)
    {
        var @namespace = change.Object.Metadata.Namespace;
        if (change.Type == WatchEventType.Deleted)
        {
            return InNamespace(Definitions, @namespace);
        }

        if (!Controller<AgentMetricDefinition>.IsRealChange(change.Old, change.Object) || @namespace is null)
        {
            return [];
        }

        var names = new[] { change.Old?.Spec.Metric.Name, change.Object.Spec.Metric.Name };
        return Definitions.Cache.ListInNamespace(@namespace)
            .Where(d => names.Contains(d.Spec.Metric.Name) && d.Metadata.Name != change.Object.Metadata.Name)
            .Select(d => d.Key());
    }

    private IEnumerable<ObjectKey> DefinitionsSelecting(
        string? @namespace, IReadOnlyDictionary<string, string>? before, IReadOnlyDictionary<string, string>? after) =>
        @namespace is null
            ? []
            : Definitions.Cache.ListInNamespace(@namespace)
                .Where(d => (before is not null && d.Spec.Selector.Matches(before)) || d.Spec.Selector.Matches(after))
                .Select(d => d.Key());
}
