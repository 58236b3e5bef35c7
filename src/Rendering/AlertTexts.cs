using System.Globalization;
using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Rendering;

/// <summary>
/// Values in alert texts, in the unit of the statistic: as Prometheus alert templates print a value
/// (a percentage, a duration, dollars, a count per second) and as the same words print a threshold.
/// </summary>
public static class AlertTexts
{
    /// <summary>A template expression that prints the value <paramref name="input"/> pipes in (such as <c>$value</c>).</summary>
    public static string Value(StatisticUnit unit, string input) => unit switch
    {
        { Kind: ValueKind.Fraction } => $"{{{{ {input} | humanizePercentage }}}}",
        { Kind: ValueKind.Seconds, PerSecond: false } => $"{{{{ {input} | humanizeDuration }}}}",
        { Kind: ValueKind.Dollars } => $"${{{{ {input} | printf \"%.4g\" }}}}{Suffix(unit)}",
        _ => $"{{{{ {input} | printf \"%.4g\" }}}}{Suffix(unit)}",
    };

    /// <summary>A number of the statistic's unit as the texts write it: 5%, 250ms, 30s, $0.25, 0.5 tasks/s.</summary>
    public static string Number(StatisticUnit unit, double value) => unit switch
    {
        { Kind: ValueKind.Fraction } => $"{Plain(value * 100)}%",
        { Kind: ValueKind.Seconds, PerSecond: false } => Math.Abs(value) < 1 && value != 0 ? $"{Plain(value * 1000)}ms" : $"{Plain(value)}s",
        { Kind: ValueKind.Dollars } => $"${Plain(value)}{Suffix(unit)}",
        _ => $"{Plain(value)}{Suffix(unit)}",
    };

    private static string Suffix(StatisticUnit unit)
    {
        var name = unit.Kind is ValueKind.Dollars or ValueKind.Score or ValueKind.Fraction ? "" : unit.Unit;
        if (unit.PerSecond)
        {
            return name.Length > 0 ? $" {name}/s" : "/s";
        }

        return name.Length > 0 ? $" {name}" : "";
    }

    private static string Plain(double value) => value.ToString("G10", CultureInfo.InvariantCulture);
}
