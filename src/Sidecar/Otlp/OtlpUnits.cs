namespace AgentMetrics.Sidecar.Otlp;

/// <summary>
/// The base unit an OTLP unit (UCUM, as the OpenTelemetry conventions write it) is converted to, and
/// the factor to multiply values by: a duration sent in <c>ms</c> is recorded in seconds, a size in
/// <c>KiBy</c> in bytes, as Prometheus names them.
/// </summary>
internal readonly record struct OtlpUnit(string? BaseUnit, double Factor)
{
    private static readonly Dictionary<string, OtlpUnit> Known = new(StringComparer.Ordinal)
    {
        ["s"] = new("seconds", 1),
        ["ms"] = new("seconds", 1e-3),
        ["us"] = new("seconds", 1e-6),
        ["ns"] = new("seconds", 1e-9),
        ["min"] = new("seconds", 60),
        ["h"] = new("seconds", 3600),
        ["d"] = new("seconds", 86400),
        ["By"] = new("bytes", 1),
        ["kBy"] = new("bytes", 1e3),
        ["KBy"] = new("bytes", 1e3),
        ["MBy"] = new("bytes", 1e6),
        ["GBy"] = new("bytes", 1e9),
        ["KiBy"] = new("bytes", 1024),
        ["MiBy"] = new("bytes", 1024 * 1024),
        ["GiBy"] = new("bytes", 1024 * 1024 * 1024),
        ["%"] = new("percent", 1),
    };

    /// <summary>What <paramref name="unit"/> converts to; a unit not known here (empty, <c>1</c>, <c>{token}</c>) is kept as it is.</summary>
    public static OtlpUnit Of(string unit) => Known.TryGetValue(unit, out var known) ? known : new(null, 1);
}
