using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Sidecar.Metrics;

namespace AgentMetrics.Sidecar.Custom;

/// <summary>The custom metrics in effect, indexed by what feeds them; replaced whole when definitions change.</summary>
public sealed class CustomMetricSet
{
    /// <summary>No definitions.</summary>
    public static readonly CustomMetricSet Empty = new([]);

    private static readonly CustomMetric[] None = [];
    private readonly Dictionary<string, CustomMetric[]> _events;
    private readonly Dictionary<string, CustomMetric[]> _otlp;
    private readonly Dictionary<string, CustomMetric[]> _spans;

    internal CustomMetricSet(IReadOnlyList<CustomMetric> metrics)
    {
        Metrics = metrics;
        _events = Index(metrics, "Event");
        _otlp = Index(metrics, "OtlpMetric");
        _spans = Index(metrics, "Span");
    }

    /// <summary>Every custom metric in effect.</summary>
    public IReadOnlyList<CustomMetric> Metrics { get; }

    /// <summary>Metrics fed by events whose type, or observation metric, is <paramref name="name"/>.</summary>
    public CustomMetric[] ForEvent(string name) => _events.GetValueOrDefault(name) ?? None;

    /// <summary>Metrics fed by the OTLP metric <paramref name="name"/>.</summary>
    public CustomMetric[] ForOtlpMetric(string name) => _otlp.GetValueOrDefault(name) ?? None;

    /// <summary>Metrics fed by spans named <paramref name="name"/>, or whose gen_ai.operation.name is <paramref name="name"/>.</summary>
    public CustomMetric[] ForSpan(string name) => _spans.GetValueOrDefault(name) ?? None;

    /// <summary>Whether any definition takes span input at all (lets the span path skip lookups).</summary>
    public bool HasSpanMetrics => _spans.Count > 0;

    private static Dictionary<string, CustomMetric[]> Index(IReadOnlyList<CustomMetric> metrics, string kind) =>
        metrics.Where(m => m.Definition.Spec.Source.Kind == kind)
            .GroupBy(m => m.Definition.Spec.Source.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
}

/// <summary>
/// Keeps the registry's custom families in step with the definitions that select this pod: new ones
/// are defined, changed ones replaced, removed ones dropped (their series handed to
/// <see cref="SeriesRemoved"/>, so push mode can mark them stale).
/// </summary>
public sealed class CustomMetrics(MetricRegistry registry)
{
    private readonly Lock _gate = new();
    private CustomMetricSet _current = CustomMetricSet.Empty;

    /// <summary>Raised with the series of every family removed or replaced.</summary>
    public event Action<Series[]>? SeriesRemoved;

    /// <summary>The set in effect.</summary>
    public CustomMetricSet Current => Volatile.Read(ref _current);

    /// <summary>Makes <paramref name="definitions"/> the set in effect.</summary>
    public void Apply(IReadOnlyList<AgentMetricDefinition> definitions)
    {
        lock (_gate)
        {
            var metrics = new List<CustomMetric>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var definition in definitions.OrderBy(d => d.Metadata.Name, StringComparer.Ordinal))
            {
                var spec = CustomMetric.SpecOf(definition);
                if (!names.Add(spec.Name))
                {
                    // The operator only sends definitions that passed validation, which refuses two with one name.
                    continue;
                }

                if (registry.Find(spec.Name) is { } existing && !Same(existing.Spec, spec))
                {
                    if (existing.Spec.Origin == FamilyOrigin.BuiltIn)
                    {
                        continue;
                    }

                    Removed(registry.Remove(spec.Name));
                }

                if (registry.GetOrDefine(spec) is { } family)
                {
                    metrics.Add(new CustomMetric(definition, family));
                }
            }

            foreach (var old in Current.Metrics)
            {
                if (!names.Contains(old.Family.Name))
                {
                    Removed(registry.Remove(old.Family.Name));
                }
            }

            Volatile.Write(ref _current, new CustomMetricSet(metrics));
            registry.Self.DefinitionsInEffect.Set(metrics.Count);
        }
    }

    private void Removed(Series[] series)
    {
        if (series.Length > 0)
        {
            SeriesRemoved?.Invoke(series);
        }
    }

    private static bool Same(FamilySpec a, FamilySpec b) =>
        a.IsCompatibleWith(b) && a.Help == b.Help && a.Unit == b.Unit && a.SeriesLimit == b.SeriesLimit && a.Origin == b.Origin;
}
