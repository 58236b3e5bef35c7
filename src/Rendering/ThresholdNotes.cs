using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;

namespace AgentMetrics.Rendering;

/// <summary>What a threshold's status says about how exactly, and from when, its alert can judge.</summary>
public static class ThresholdNotes
{
    /// <summary>
    /// For an anomaly threshold, what its baseline is and how much recorded history it needs before it can
    /// fire; null for the other modes.
    /// </summary>
    public static string? History(AlertThresholdSpec spec)
    {
        if (spec.Anomaly is not { } anomaly || !PrometheusDuration.TryParse(anomaly.BaselineWindow, out var baseline)
            || !PrometheusDuration.TryParse(RuleRenderer.RecentPart(spec), out var recent))
        {
            return null;
        }

        return $"the baseline is the {anomaly.BaselineWindow} before the last {RuleRenderer.RecentPart(spec)} (spec.window + spec.for), "
            + $"so the alert can fire once {PrometheusDuration.Format(baseline + recent)} of the statistic is recorded";
    }

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
