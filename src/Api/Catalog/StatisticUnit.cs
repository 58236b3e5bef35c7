namespace AgentMetrics.Api.Catalog;

/// <summary>What a statistic's values are measured in, from which its texts and its anomaly floor follow.</summary>
public enum ValueKind
{
    /// <summary>A share of tasks, from 0 to 1, shown as a percentage.</summary>
    Fraction,

    /// <summary>A duration in seconds.</summary>
    Seconds,

    /// <summary>US dollars.</summary>
    Dollars,

    /// <summary>Tokens.</summary>
    Tokens,

    /// <summary>Bytes.</summary>
    Bytes,

    /// <summary>A score normalised to 0..1.</summary>
    Score,

    /// <summary>A count of things (tasks, errors, observations), or a value in some other unit.</summary>
    Count,
}

/// <summary>The unit of one statistic of one metric: p99 of a duration is in seconds, its rate in observations per second.</summary>
public readonly record struct StatisticUnit(ValueKind Kind, string Unit, bool PerSecond)
{
    /// <summary>The statistics that are ratios of task outcomes.</summary>
    public static readonly IReadOnlyList<string> Ratios = ["errorRate", "completionRate", "timeoutRate", "escalationRate"];

    /// <summary>The unit of <paramref name="statistic"/> of <paramref name="metric"/>.</summary>
    public static StatisticUnit Of(string statistic, MetricSpec metric)
    {
        if (Ratios.Contains(statistic))
        {
            return new(ValueKind.Fraction, "", false);
        }

        var perSecond = statistic == "rate";
        if (perSecond && metric.Type == MetricType.Histogram)
        {
            // The rate of a histogram counts its observations, whatever unit they are in.
            return new(ValueKind.Count, "", true);
        }

        var kind = metric.Unit switch
        {
            "seconds" => ValueKind.Seconds,
            "dollars" => ValueKind.Dollars,
            "tokens" => ValueKind.Tokens,
            "bytes" => ValueKind.Bytes,
            "ratio" => ValueKind.Score,
            _ => ValueKind.Count,
        };
        return new(kind, metric.Unit, perSecond);
    }

    /// <summary>
    /// The smallest spread an anomaly is judged against unless the threshold sets one: a change smaller
    /// than a few of these is too small to page for, however steady the series was before.
    /// </summary>
    public double DefaultMinimumDeviation => Kind switch
    {
        ValueKind.Fraction or ValueKind.Score or ValueKind.Seconds => 0.01,
        ValueKind.Dollars => 0.001,
        ValueKind.Tokens => 1,
        ValueKind.Bytes => 1024,
        _ => PerSecond ? 0.02 : 1,
    };
}
