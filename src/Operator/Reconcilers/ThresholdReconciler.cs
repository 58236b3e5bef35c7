using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>Turns an AlertThreshold into its rules object and keeps its status current.</summary>
public sealed class ThresholdReconciler(
    Informer<AlertThreshold> thresholds, Informer<AgentMetricDefinition> definitions, OutputWriter output, StatusWriter status,
    FeatureGate feature, TimeProvider clock)
{
    /// <summary>
    /// The controller that runs this reconciler, with what it follows: the rules objects it owns, any
    /// real change of a definition in its namespace (the metric it names may come, go or change), and a
    /// flip of the flag, which concerns every threshold.
    /// </summary>
    public Controller<AlertThreshold> Setup(Informer<KubernetesObject> children, ControllerOptions options, ILogger logger)
    {
        var controller = new Controller<AlertThreshold>("alertthreshold", thresholds, ReconcileAsync, options, logger)
            .Owns(children)
            .Watches(definitions, change => Controller<AgentMetricDefinition>.IsRealChange(change.Old, change.Object)
                ? Keys.InNamespace(thresholds, change.Object.Metadata.Namespace)
                : []);
        feature.Changed += _ => Keys.QueueAll(controller, thresholds);
        return controller;
    }

    /// <summary>Reconciles one AlertThreshold by key; safe to run any number of times.</summary>
    public async Task<ReconcileResult> ReconcileAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var threshold = thresholds.Cache.Get(key);
        if (threshold is null || threshold.Metadata.DeletionTimestamp is not null)
        {
            // Its children carry an owner reference: the garbage collector removes them.
            return ReconcileResult.Done;
        }

        var @namespace = key.Namespace!;
        var inNamespace = definitions.Cache.ListInNamespace(@namespace);
        var errors = ThresholdValidator.Validate(threshold, new ValidationContext { Definitions = inNamespace });
        if (errors.Count > 0)
        {
            await SetAsync(threshold, false, Conditions.InvalidSpec, string.Join("; ", errors), null, cancellationToken);
            return ReconcileResult.Done;
        }

        if (!feature.Enabled)
        {
            await SetAsync(threshold, false, Conditions.FeatureDisabled, Conditions.DisabledMessage(feature), null, cancellationToken);
            return ReconcileResult.Done;
        }

        if (ThresholdValidator.MetricNotFound(threshold, inNamespace) is { } notFound)
        {
            await SetAsync(threshold, false, Conditions.MetricNotFound, notFound.ToString(), null, cancellationToken);
            return ReconcileResult.Done;
        }

        var metric = MetricCatalog.Resolve(threshold.Spec.Metric, inNamespace)!;

        RuleGroup group;
        try
        {
            group = RuleRenderer.ForThreshold(threshold, metric);
        }
        catch (ArgumentException e)
        {
            await SetAsync(threshold, false, Conditions.RenderFailed, e.Message, null, cancellationToken);
            return ReconcileResult.Done;
        }

        var child = output.Output.Rules(threshold, group);
        if (await output.ApplyAsync(child, cancellationToken) is { } unavailable)
        {
            await SetAsync(threshold, false, Conditions.OutputUnavailable, unavailable, null, cancellationToken);
            return ReconcileResult.After(TimeSpan.FromMinutes(1));
        }

        var written = $"{child.Kind} {child.Metadata.Name} holds {group.Rules.Count} rules";
        if (ThresholdNotes.History(threshold.Spec) is { } history)
        {
            written = $"{written}; {history}";
        }

        var (reason, message) = ThresholdNotes.Approximation(threshold.Spec, metric) is { } approximation
            ? (Conditions.ApproximatePercentile, $"{written}; {approximation}")
            : (Conditions.RulesWritten, written);
        await SetAsync(threshold, true, reason, message, group.Rules[0].Expr, cancellationToken);
        return ReconcileResult.Done;
    }

    private Task SetAsync(AlertThreshold threshold, bool ready, string reason, string message, string? expression, CancellationToken cancellationToken)
    {
        var generation = threshold.Metadata.Generation;
        var next = new AlertThresholdStatus
        {
            ObservedGeneration = generation,
            Expression = expression,
            Conditions = Conditions.With(threshold.Status?.Conditions, Conditions.Ready, ready, reason, message, generation, clock.GetUtcNow()),
        };
        return status.WriteAsync(
            threshold, AlertThreshold.Type, threshold.Status, next, ApiJsonContext.Default.AlertThresholdStatus, s => s?.Conditions,
            cancellationToken);
    }
}
