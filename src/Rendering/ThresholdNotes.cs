using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;

namespace AgentMetrics.Rendering;

/// <summary>What a threshold's status says about how exactly its alert can judge the threshold.</summary>
public static class ThresholdNotes
{
    /// <summary>
    /// For a percentile threshold between two bucket bounds, why the alert is an estimate and how to make
    /// it exact; null when it is exact (on a bound) or not a percentile threshold.
    /// </summary>
    public static string? Approximation(AlertThresholdSpec spec, MetricSpec metric)
    {
        if (spec.Threshold is not { } value || ThresholdValidator.ReadThreshold(value) is not (var limit, null)
            || RuleRenderer.PercentileBounds(spec, metric, limit) is not { IsExact: false, Lower: var lower, Upper: { } upper })
        {
            return null;
        }

        var unit = StatisticUnit.Of(spec.Statistic, metric);
        var below = lower is { } bound ? AlertTexts.Number(unit, bound) : AlertTexts.Number(unit, 0);
        var fix = BuiltInMetrics.Find(spec.Metric) is null
            ? $"set spec.threshold to one of them, or add {AlertTexts.Number(unit, limit)} to the buckets of the AgentMetricDefinition of {spec.Metric}"
            : $"set spec.threshold to one of them for an exact alert";
        return $"spec.threshold {AlertTexts.Number(unit, limit)} lies between the bucket bounds {below} and {AlertTexts.Number(unit, upper)} of {spec.Metric}, "
            + $"so the {spec.Statistic} is interpolated within that bucket: the alert may fire for a {spec.Statistic} as low as {below} "
            + $"or miss one up to {AlertTexts.Number(unit, upper)}; {fix}";
    }
}
