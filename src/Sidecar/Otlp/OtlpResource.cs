using AgentMetrics.Sidecar.Ingest;

namespace AgentMetrics.Sidecar.Otlp;

/// <summary>A resource of one request, with its attributes spelled once as a key for the cumulative streams.</summary>
internal sealed class OtlpResource(Attributes attributes)
{
    private int? _keyHash;

    public Attributes Attributes { get; } = attributes;

    /// <summary>Every attribute as key=value, in the order sent; built when a cumulative point first needs it.</summary>
    public string Key => field ??= string.Concat(Attributes.Items.Select(a => $"\u0000{a.Key}={a.Value.Text}"));

    /// <summary>The hash of <see cref="Key"/>.</summary>
    public int KeyHash => _keyHash ??= StringComparer.Ordinal.GetHashCode(Key);

    /// <summary>The labels its promoted attributes become, as the recorder works them out for the first pass-through point.</summary>
    public KeyValuePair<string, string>[]? PromotedLabels { get; set; }
}
