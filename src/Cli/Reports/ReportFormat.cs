using System.Globalization;

namespace AgentMetrics.Cli.Reports;

/// <summary>How the report writes figures for people: counts whole, shares as percentages, seconds and dollars with their unit.</summary>
public static class ReportFormat
{
    /// <summary>A number in invariant culture with <paramref name="format"/>.</summary>
    public static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A relative change as a signed percentage: +20%, -4.5%.</summary>
    public static string Percent(double change)
    {
        var percent = Unsigned(Math.Round(change * 100, 1));
        return (percent >= 0 ? "+" : "") + Number(percent, "0.#") + "%";
    }

    /// <summary>A figure in its unit; "-" when missing.</summary>
    public static string Value(ReportColumn column, double? value) => value is not { } v ? "-" : column.Unit switch
    {
        ColumnUnit.Count => Number(Math.Round(v), "0"),
        ColumnUnit.Ratio => Number(v * 100, "0.0") + "%",
        ColumnUnit.Seconds => Number(v, v < 10 ? "0.###" : "0.#") + "s",
        _ => "$" + Number(v, v < 1 ? "0.####" : "0.00"),
    };

    /// <summary>
    /// A figure with its change for a table cell: "1200 (+20%)". A share's change is written in percentage
    /// points, which is how people read shares ("5.0% (+4.0pp)"); the ranking uses the relative change.
    /// </summary>
    public static string Cell(ReportColumn column, ReportRow row)
    {
        var now = row.Current is { } current ? column.Value(current) : null;
        var text = Value(column, now);
        if (row.Changes[column.Key] is not { } change)
        {
            return text;
        }

        if (column.Unit == ColumnUnit.Ratio && now is { } n && column.Value(row.Baseline!) is { } before)
        {
            var points = Unsigned(Math.Round((n - before) * 100, 1));
            return $"{text} ({(points >= 0 ? "+" : "")}{Number(points, "0.0")}pp)";
        }

        return $"{text} ({Percent(change)})";
    }

    // Rounded to nothing, a hair's fall is -0, which would print as "-0.0"; it is no change.
    private static double Unsigned(double rounded) => rounded == 0 ? 0 : rounded;

    /// <summary>A number for machines: nine significant digits, so sums of hourly increases print as the counts they are.</summary>
    public static double Machine(double value) => double.Parse(value.ToString("G9", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>A time as RFC 3339 in UTC.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
