namespace AgentMetrics.Sidecar.Exposition;

/// <summary>
/// Reads a scraper's Accept-Encoding (RFC 9110 §12.5.3): whether gzip is acceptable. Prometheus sends
/// <c>Accept-Encoding: gzip</c> with every scrape; a coding listed with <c>q=0</c> is refused, and
/// <c>*</c> stands for every coding not named.
/// </summary>
internal static class ContentCoding
{
    /// <summary>True when <paramref name="acceptEncoding"/> accepts gzip (or x-gzip) with a non-zero weight.</summary>
    public static bool AcceptsGzip(string? acceptEncoding)
    {
        if (acceptEncoding is null)
        {
            return false;
        }

        double? gzip = null;
        double? any = null;
        foreach (var item in acceptEncoding.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parameters = item.Split(';', StringSplitOptions.TrimEntries);
            var weight = Weight(parameters.AsSpan(1));
            if (parameters[0].Equals("gzip", StringComparison.OrdinalIgnoreCase) || parameters[0].Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
            {
                gzip = Math.Max(gzip ?? 0, weight);
            }
            else if (parameters[0] == "*")
            {
                any = weight;
            }
        }

        return (gzip ?? any ?? 0) > 0;
    }

    private static double Weight(ReadOnlySpan<string> parameters)
    {
        foreach (var parameter in parameters)
        {
            if (parameter.StartsWith("q=", StringComparison.OrdinalIgnoreCase))
            {
                return double.TryParse(parameter.AsSpan(2), System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var q)
                    ? Math.Clamp(q, 0, 1)
                    : 0;
            }
        }

        return 1;
    }
}
