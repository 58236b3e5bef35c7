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
            if (alternate[i] != values[i])
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
            // string.GetHashCode is the ordinal hash, called directly rather than through a comparer.
            hash.Add(value?.GetHashCode() ?? 0);
        }

        return hash.ToHashCode();
    }

    public LabelKey Create(ReadOnlySpan<string> alternate) => new(alternate.ToArray());
}
