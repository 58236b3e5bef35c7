using System.Globalization;

namespace AgentMetrics.Cli.Commands;

/// <summary>How <c>top</c> writes its figures: short, with their unit, the same width whatever the size.</summary>
internal static class TopFormat
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A whole number.</summary>
    public static string Count(double value) => value.ToString("0", Invariant);

    /// <summary>Something per second: 0.05, 1.25, 12.5, 125, 1.3k, 12k.</summary>
    public static string Rate(double value) => Math.Abs(value) switch
    {
        >= 10_000 => (value / 1000).ToString("0", Invariant) + "k",
        >= 1000 => (value / 1000).ToString("0.0", Invariant) + "k",
        >= 100 => value.ToString("0", Invariant),
        >= 10 => value.ToString("0.0", Invariant),
        _ => value.ToString("0.00", Invariant),
    };

    /// <summary>A duration in seconds: 85ms, 2.41s, 38.2s, 412s.</summary>
    public static string Seconds(double value) => value switch
    {
        < 1 => (value * 1000).ToString("0", Invariant) + "ms",
        < 10 => value.ToString("0.00", Invariant) + "s",
        < 100 => value.ToString("0.0", Invariant) + "s",
        _ => value.ToString("0", Invariant) + "s",
    };

    /// <summary>A ratio as a percentage: 0.0%, 1.2%, 100%.</summary>
    public static string Percent(double value) =>
        value >= 0.9995 ? "100%" : (value * 100).ToString("0.0", Invariant) + "%";

    /// <summary>US dollars, with three significant digits below a dollar: $0.00425, $0.0123, $1.25.</summary>
    public static string Dollars(double value) => value switch
    {
        0 => "$0",
        < 0.001 => "$" + value.ToString("0.000000", Invariant),
        < 0.01 => "$" + value.ToString("0.00000", Invariant),
        < 0.1 => "$" + value.ToString("0.0000", Invariant),
        < 1 => "$" + value.ToString("0.000", Invariant),
        _ => "$" + value.ToString("0.00", Invariant),
    };

    /// <summary>A z-score, signed: +12.3, -0.4, +152.</summary>
    public static string Score(double value) => value.ToString(Math.Abs(value) >= 100 ? "+0;-0;0" : "+0.0;-0.0;0.0", Invariant);
}
