using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>The Ready condition's reasons, and how a condition list changes.</summary>
public static class Conditions
{
    public const string Ready = "Ready";
    public const string InvalidSpec = "InvalidSpec";
    public const string MetricNotFound = "MetricNotFound";
    public const string NoMatchingAgents = "NoMatchingAgents";
    public const string RenderFailed = "RenderFailed";
    public const string OutputUnavailable = "OutputUnavailable";
    public const string RulesWritten = "RulesWritten";
    public const string ApproximatePercentile = "ApproximatePercentile";
    public const string Collecting = "Collecting";
    public const string FeatureDisabled = "FeatureDisabled";

    /// <summary>What a disabled object's condition says.</summary>
    public static string DisabledMessage(FeatureGate feature) =>
        $"agent metrics are switched off ({feature.Source} is false): nothing new is rendered or injected; "
        + "what was written before and the running sidecars are left as they are";

    /// <summary>
    /// <paramref name="existing"/> with the condition of <paramref name="type"/> set; its
    /// lastTransitionTime moves only when its status changes, so a steady state writes nothing new.
    /// </summary>
    public static List<Condition> With(
        IReadOnlyList<Condition>? existing, string type, bool status, string reason, string message, long? generation, DateTimeOffset now)
    {
        var statusText = status ? "True" : "False";
        var list = (existing ?? []).Where(c => c.Type != type).ToList();
        var previous = existing?.FirstOrDefault(c => c.Type == type);
        list.Add(new Condition
        {
            Type = type,
            Status = statusText,
            Reason = reason,
            Message = message,
            ObservedGeneration = generation,
            LastTransitionTime = previous?.Status == statusText ? previous.LastTransitionTime : now,
        });
        return [.. list.OrderBy(c => c.Type, StringComparer.Ordinal)];
    }
}
