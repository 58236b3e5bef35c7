using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>Turns an AgentMetricDefinition into its recording rules and keeps its status (agents matched, series) current.</summary>
public sealed class DefinitionReconciler(
    Informer<AgentMetricDefinition> definitions, AgentIndex agents, OutputWriter output, StatusWriter status,
    FeatureGate feature, TimeProvider clock)
{
    /// <summary>
    /// The controller that runs this reconciler, with what it follows: the rules objects it owns, pods
    /// whose coming, going or labels change what definitions select, the definitions a change to one
    /// can make valid or invalid, and a flip of the flag, which concerns every definition.
    /// </summary>
    public Controller<AgentMetricDefinition> Setup(
        Informer<KubernetesObject> children, Informer<KubernetesObject> pods, ControllerOptions options, ILogger logger)
    {
        var controller = new Controller<AgentMetricDefinition>("agentmetricdefinition", definitions, ReconcileAsync, options, logger)
            .Owns(children)
            .Watches(pods, change => Agents.SetChanged(change)
                ? Selecting(change.Object.Metadata.Namespace, change.Old?.Metadata.Labels, change.Object.Metadata.Labels)
                : [])
            .Watches(definitions, AffectedBy);
        feature.Changed += _ => Keys.QueueAll(controller, definitions);
        return controller;
    }

    /// <summary>Reconciles one AgentMetricDefinition by key; safe to run any number of times.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var definition = definitions.Cache.Get(key);
        if (definition is null || definition.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done;
        }

        var @namespace = key.Namespace!;
        var context = agents.Context(@namespace);
        var errors = DefinitionValidator.Validate(definition, context);
        if (errors.Count > 0)
        {
            await SetAsync(definition, false, Conditions.InvalidSpec, string.Join("; ", errors), null, cancellationToken);
            return ReconcileResult.Done;
        }

        var (matched, injected) = agents.Count(@namespace, definition.Spec.Selector);
        if (!feature.Enabled)
        {
            await SetAsync(definition, false, Conditions.FeatureDisabled, Conditions.DisabledMessage(feature), (matched, injected), cancellationToken);
            return ReconcileResult.Done;
        }

        RuleGroup group;
        try
        {
            group = RuleRenderer.ForDefinition(definition);
        }
        catch (ArgumentException e)
        {
            await SetAsync(definition, false, Conditions.RenderFailed, e.Message, (matched, injected), cancellationToken);
            return ReconcileResult.Done;
        }

        var child = output.Output.Rules(definition, group);
        if (await output.ApplyAsync(child, cancellationToken) is { } unavailable)
        {
            await SetAsync(definition, false, Conditions.OutputUnavailable, unavailable, (matched, injected), cancellationToken);
            return ReconcileResult.After(TimeSpan.FromMinutes(1));
        }

        if (matched == 0)
        {
            await SetAsync(
                definition, false, Conditions.NoMatchingAgents,
                $"no pod in namespace {@namespace} matches spec.selector yet; its rules are written and collection starts when one appears",
                (0, 0), cancellationToken);
        }
        else
        {
            await SetAsync(
                definition, true, Conditions.Collecting,
                $"{matched} agent pod(s) selected, {injected} with the metrics sidecar; {child.Kind} {child.Metadata.Name} holds {group.Rules.Count} recording rules",
                (matched, injected), cancellationToken);
        }

        return ReconcileResult.Done;
    }

    private Task SetAsync(
        AgentMetricDefinition definition, bool ready, string reason, string message, (int Matched, int Injected)? agents,
        CancellationToken cancellationToken)
    {
        var generation = definition.Metadata.Generation;
        var next = new AgentMetricDefinitionStatus
        {
            ObservedGeneration = generation,
            MatchedAgents = agents?.Matched ?? 0,
            InjectedAgents = agents?.Injected ?? 0,
            SeriesEstimate = (long)(agents?.Matched ?? 0) * definition.Spec.SeriesLimit,
            Conditions = Conditions.With(definition.Status?.Conditions, Conditions.Ready, ready, reason, message, generation, clock.GetUtcNow()),
        };
        return status.WriteAsync(
            definition, AgentMetricDefinition.Type, definition.Status, next, ApiJsonContext.Default.AgentMetricDefinitionStatus,
            s => s?.Conditions, cancellationToken);
    }

    /// <summary>
    /// The other definitions whose validity a change can alter. Conflicts count only older
    /// definitions, so an addition or change affects those sharing its metric name (a type clash), and
    /// only a deletion can free room under the per-agent cap for the rest of the namespace.
    /// </summary>
    private IEnumerable<ObjectKey> AffectedBy(InformerEvent<AgentMetricDefinition> change)
    {
        var @namespace = change.Object.Metadata.Namespace;
        if (change.Type == WatchEventType.Deleted)
        {
            return Keys.InNamespace(definitions, @namespace);
        }

        if (!Controller<AgentMetricDefinition>.IsRealChange(change.Old, change.Object) || @namespace is null)
        {
            return [];
        }

        var names = new[] { change.Old?.Spec.Metric.Name, change.Object.Spec.Metric.Name };
        return definitions.Cache.ListInNamespace(@namespace)
            .Where(d => names.Contains(d.Spec.Metric.Name) && d.Metadata.Name != change.Object.Metadata.Name)
            .Select(d => d.Key());
    }

    /// <summary>The definitions of <paramref name="namespace"/> that select a pod with either set of labels.</summary>
    private IEnumerable<ObjectKey> Selecting(
        string? @namespace, IReadOnlyDictionary<string, string>? before, IReadOnlyDictionary<string, string>? after) =>
        @namespace is null
            ? []
            : definitions.Cache.ListInNamespace(@namespace)
                .Where(d => (before is not null && d.Spec.Selector.Matches(before)) || d.Spec.Selector.Matches(after))
                .Select(d => d.Key());
}
