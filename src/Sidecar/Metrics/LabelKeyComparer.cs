namespace AgentMetrics.Sidecar.Metrics;

/// <summary>
/// Compares series keys (label values in the family's canonical order) by value, and hashes them, so
/// a family looks a series up by a span of strings and recording on an existing series allocates nothing.
/// </summary>
internal static class LabelKeyComparer
{
    public static bool Equals(ReadOnlySpan<string> key, string[] values)
    {
        if (key.Length != values.Length)
        {
            return false;
        }

        for (var i = 0; i < key.Length; i++)
        {
            if (key[i] != values[i])
            {
                return false;
            }
        }

        return true;
    }

    public static int Hash(ReadOnlySpan<string> key)
    {
        var hash = new HashCode();
        foreach (var value in key)
        {
            // string.GetHashCode is the ordinal hash, called directly rather than through a comparer.
            hash.Add(value?.GetHashCode() ?? 0);
        }

        return hash.ToHashCode();
    }
}
