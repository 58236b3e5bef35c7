using System.Globalization;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Api.V1Alpha1;

namespace AgentMetrics.Api.Validation;

/// <summary>The rules an AgentMetricDefinition must follow, shared by the admission webhook, the reconciler and the CLI.</summary>
public static class DefinitionValidator
{
    public const int MaxSeriesLimit = 100_000;
    private static readonly string[] SourceKinds = ["Event", "OtlpMetric", "Span"];
    private static readonly string[] SelectorOperators = ["In", "NotIn", "Exists", "DoesNotExist"];

    /// <summary>Every rule <paramref name="definition"/> breaks; empty when it is valid.</summary>
    public static IReadOnlyList<FieldError> Validate(AgentMetricDefinition definition, ValidationContext context)
    {
        var errors = new List<FieldError>();
        var spec = definition.Spec;
        CheckMetric(spec.Metric, errors);
        CheckSource(spec.Source, errors);
        CheckSelector(spec.Selector, errors);
        if (spec.SeriesLimit is < 1 or > MaxSeriesLimit)
        {
            errors.Add(new("spec.seriesLimit", $"must be between 1 and {MaxSeriesLimit}, got {spec.SeriesLimit}"));
        }

        if (errors.Count == 0)
        {
            CheckAgainstNamespace(definition, context, errors);
        }

        return errors;
    }

    private static void CheckMetric(MetricDescription metric, List<FieldError> errors)
    {
        if (PrometheusNames.CheckMetricName(metric.Name) is { } nameProblem)
        {
            errors.Add(new("spec.metric.name", nameProblem));
        }
        else if (BuiltInMetrics.Find(metric.Name) is { } builtIn)
        {
            errors.Add(new("spec.metric.name", $"\"{metric.Name}\" collides with the built-in metric {builtIn.SeriesName}; choose another name"));
        }

        switch (metric.ParsedType)
        {
            case null:
                errors.Add(new("spec.metric.type", $"must be counter, gauge or histogram, got \"{metric.Type}\""));
                break;
            case MetricType.Counter when metric.Name.EndsWith("_total", StringComparison.Ordinal):
                errors.Add(new("spec.metric.name", "a counter's name must not end in _total; the exposition adds it"));
                break;
            case MetricType.Histogram when new[] { "_bucket", "_sum", "_count" }.FirstOrDefault(s => metric.Name.EndsWith(s, StringComparison.Ordinal)) is { } suffix:
                errors.Add(new("spec.metric.name", $"a histogram's name must not end in {suffix}; its series already use that suffix"));
                break;
            default:
                break;
        }

        if (string.IsNullOrWhiteSpace(metric.Help))
        {
            errors.Add(new("spec.metric.help", "must not be empty: it becomes the metric's HELP text"));
        }

        if (metric.Buckets is { } buckets)
        {
            if (metric.ParsedType is not MetricType.Histogram)
            {
                errors.Add(new("spec.metric.buckets", "only a histogram has buckets"));
            }

            for (var i = 0; i < buckets.Count; i++)
            {
                if (!double.IsFinite(buckets[i]))
                {
                    errors.Add(new($"spec.metric.buckets[{i}]", "must be a finite number; +Inf is always added"));
                }
                else if (i > 0 && buckets[i] <= buckets[i - 1])
                {
                    errors.Add(new(
                        "spec.metric.buckets",
                        string.Create(CultureInfo.InvariantCulture, $"must be sorted in increasing order with no duplicates: {buckets[i]} follows {buckets[i - 1]} at index {i}")));
                    break;
                }
            }
        }
    }

    private static void CheckSource(MetricSource source, List<FieldError> errors)
    {
        if (!SourceKinds.Contains(source.Kind))
        {
            errors.Add(new("spec.source.kind", $"must be Event, OtlpMetric or Span, got \"{source.Kind}\""));
        }

        if (string.IsNullOrWhiteSpace(source.Name))
        {
            errors.Add(new("spec.source.name", "must name the event, OTLP metric or span the values come from"));
        }

        var seen = new HashSet<string>();
        for (var i = 0; i < (source.Labels?.Count ?? 0); i++)
        {
            var label = source.Labels![i];
            if (PrometheusNames.CheckLabelName(label) is { } problem)
            {
                errors.Add(new($"spec.source.labels[{i}]", problem));
            }
            else if (!seen.Add(label))
            {
                errors.Add(new($"spec.source.labels[{i}]", $"\"{label}\" is listed twice"));
            }
        }
    }

    private static void CheckSelector(LabelSelector selector, List<FieldError> errors)
    {
        for (var i = 0; i < (selector.MatchExpressions?.Count ?? 0); i++)
        {
            var requirement = selector.MatchExpressions![i];
            var field = $"spec.selector.matchExpressions[{i}]";
            if (!SelectorOperators.Contains(requirement.Operator))
            {
                errors.Add(new($"{field}.operator", $"must be In, NotIn, Exists or DoesNotExist, got \"{requirement.Operator}\""));
            }
            else if (requirement.Operator is "In" or "NotIn" && (requirement.Values?.Count ?? 0) == 0)
            {
                errors.Add(new($"{field}.values", $"must not be empty with operator {requirement.Operator}"));
            }
            else if (requirement.Operator is "Exists" or "DoesNotExist" && (requirement.Values?.Count ?? 0) > 0)
            {
                errors.Add(new($"{field}.values", $"must be empty with operator {requirement.Operator}"));
            }
        }
    }

    private static void CheckAgainstNamespace(AgentMetricDefinition definition, ValidationContext context, List<FieldError> errors)
    {
        // A conflict is the newer definition's fault: only definitions created before this one count
        // against it. At admission the object is the newest, so the webhook and the reconciler agree,
        // and adding a definition never invalidates one that was already there.
        var others = context.Definitions.Where(d => d.Metadata.Name != definition.Metadata.Name && IsOlder(d, definition)).ToList();
        var selected = context.Pods.Where(p => definition.Spec.Selector.Matches(p.Labels)).ToList();
        foreach (var other in others.Where(o => o.Spec.Metric.Name == definition.Spec.Metric.Name && o.Spec.Metric.Type != definition.Spec.Metric.Type))
        {
            var shared = selected.FirstOrDefault(p => other.Spec.Selector.Matches(p.Labels)).Name;
            if (shared is not null || SameSelector(other.Spec.Selector, definition.Spec.Selector))
            {
                var where = shared is null ? "the same agents" : $"agent pod {shared}";
                errors.Add(new(
                    "spec.metric.name",
                    $"\"{definition.Spec.Metric.Name}\" is already a {other.Spec.Metric.Type} for {where}, defined by AgentMetricDefinition {other.Metadata.Name}; one name cannot have two types"));
            }
        }

        foreach (var pod in selected)
        {
            var defined = others.Where(o => o.Spec.Selector.Matches(pod.Labels)).Select(o => o.Spec.Metric.Name)
                .Append(definition.Spec.Metric.Name).Distinct().Count();
            var total = BuiltInMetrics.All.Count + defined;
            if (total > ValidationContext.MaxMetricsPerAgent)
            {
                errors.Add(new(
                    "spec.selector",
                    $"selects agent pod {pod.Name}, which would then have {total} metrics ({BuiltInMetrics.All.Count} built-in and {defined} defined); at most {ValidationContext.MaxMetricsPerAgent} are allowed per agent"));
                break;
            }
        }
    }

    private static bool IsOlder(AgentMetricDefinition candidate, AgentMetricDefinition than)
    {
        var (a, b) = (candidate.Metadata.CreationTimestamp, than.Metadata.CreationTimestamp);
        return b is null
            || (a is not null && (a < b || (a == b && string.CompareOrdinal(candidate.Metadata.Name, than.Metadata.Name) < 0)));
    }

    private static bool SameSelector(LabelSelector a, LabelSelector b) =>
        (a.MatchExpressions?.Count ?? 0) == 0 && (b.MatchExpressions?.Count ?? 0) == 0
        && (a.MatchLabels?.Count ?? 0) == (b.MatchLabels?.Count ?? 0)
        && (a.MatchLabels ?? []).All(l => b.MatchLabels!.TryGetValue(l.Key, out var v) && v == l.Value);
}
