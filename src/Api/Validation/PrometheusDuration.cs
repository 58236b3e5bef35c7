using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentMetrics.Api.Validation;

/// <summary>Prometheus durations: units from years to milliseconds, largest first, such as 1h30m or 90s.</summary>
public static partial class PrometheusDuration
{
    /// <summary>Parses a duration; false when it is not one.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        var units = new (string Group, TimeSpan Unit)[]
        {
            ("y", TimeSpan.FromDays(365)), ("w", TimeSpan.FromDays(7)), ("d", TimeSpan.FromDays(1)), ("h", TimeSpan.FromHours(1)),
            ("m", TimeSpan.FromMinutes(1)), ("s", TimeSpan.FromSeconds(1)), ("ms", TimeSpan.FromMilliseconds(1)),
        };
        try
        {
            foreach (var (group, unit) in units)
            {
                if (match.Groups[group].Success)
                {
                    duration += unit * long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (OverflowException)
        {
            // Digits enough to overflow a long or a TimeSpan (Prometheus itself stops at about 292 years): not a duration.
            duration = TimeSpan.Zero;
            return false;
        }

        return true;
    }

    /// <summary>Formats a duration the way Prometheus writes it (1h30m, 5m, 90s becomes 1m30s).</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new StringBuilder();
        var rest = (long)duration.TotalMilliseconds;
        foreach (var (suffix, ms) in new (string, long)[] { ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1) })
        {
            if (rest >= ms)
            {
                text.Append(CultureInfo.InvariantCulture, $"{rest / ms}{suffix}");
                rest %= ms;
            }
        }

        return text.ToString();
    }

    [GeneratedRegex("^(?:(?<y>[0-9]+)y)?(?:(?<w>[0-9]+)w)?(?:(?<d>[0-9]+)d)?(?:(?<h>[0-9]+)h)?(?:(?<m>[0-9]+)m)?(?:(?<s>[0-9]+)s)?(?:(?<ms>[0-9]+)ms)?$")]
    private static partial Regex Pattern();
}
