namespace AgentMetrics.Api.Catalog;

/// <summary>
/// Where a percentile threshold stands among a histogram's finite bucket bounds. On a bound, whether a
/// percentile is above it is known exactly from the bucket counts; between two bounds it is only
/// estimated, by interpolating within the bucket; above the largest bound it cannot be measured at all.
/// </summary>
public readonly record struct BucketBounds(double? Lower, double? Upper)
{
    /// <summary>The threshold is one of the bounds (then <see cref="Lower"/> and <see cref="Upper"/> are both it).</summary>
    public bool IsExact => Lower is { } lower && Upper is { } upper && lower == upper;

    /// <summary>The threshold is above every finite bound.</summary>
    public bool IsBeyondLargest => Upper is null;

    /// <summary>Locates <paramref name="threshold"/> among the ascending <paramref name="bounds"/>.</summary>
    public static BucketBounds Around(IReadOnlyList<double> bounds, double threshold)
    {
        double? lower = null;
        foreach (var bound in bounds)
        {
            if (bound == threshold)
            {
                return new(bound, bound);
            }

            if (bound > threshold)
            {
                return new(lower, bound);
            }

            lower = bound;
        }

        return new(lower, null);
    }
}
