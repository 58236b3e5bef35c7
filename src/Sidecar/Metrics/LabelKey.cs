namespace AgentMetrics.Sidecar.Metrics;

/// <summary>A series' key within its family: label values in the family's canonical order.</summary>
internal readonly struct LabelKey(string[] values)
{
    public string[] Values { get; } = values;
}

/// <summary>
/// Compares keys by value and lets a family look a series up by a span of strings, so recording on
/// an existing series allocates nothing.
/// </summary>
internal sealed class LabelKeyComparer : IEqualityComparer<LabelKey>, IAlternateEqualityComparer<ReadOnlySpan<string>, LabelKey>
{
    public static readonly LabelKeyComparer Instance = new();

    public bool Equals(LabelKey x, LabelKey y) => Equals(x.Values.AsSpan(), y);

    public int GetHashCode(LabelKey obj) => GetHashCode(obj.Values.AsSpan());

    public bool Equals(ReadOnlySpan<string> alternate, LabelKey other)
    {
        var values = other.Values;
        if (alternate.Length != values.Length)
        {
            return false;
        }

        for (var i = 0; i < alternate.Length; i++)
        {
            if (!string.Equals(alternate[i], values[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public int GetHashCode(ReadOnlySpan<string> alternate)
    {
        var hash = new HashCode();
        foreach (var value in alternate)
        {
            hash.Add(value, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    public LabelKey Create(ReadOnlySpan<string> alternate) => new(alternate.ToArray());
}
