using System.Globalization;
using System.Text.Json.Nodes;

namespace AgentMetrics.Dashboards.Bench;

/// <summary>One query a dashboard sends, with its variables substituted as Grafana would for a one-hour view.</summary>
/// <param name="Dashboard">The dashboard's uid.</param>
/// <param name="Panel">The panel's title (or "annotation").</param>
/// <param name="RefId">The target's refId.</param>
/// <param name="Expr">The PromQL Prometheus receives.</param>
/// <param name="Step">The range query's step; null for an instant query.</param>
public sealed record DashboardQuery(string Dashboard, string Panel, string RefId, string Expr, TimeSpan? Step);

/// <summary>
/// Every query of every dashboard as Grafana sends it over the last hour. Grafana's Prometheus datasource
/// sets <c>$__interval</c> to the hour over the panel's width in pixels (a 1920-pixel screen: 1800 for the
/// 24 grid columns), rounded as Grafana rounds intervals, and no shorter than the panel's min interval or,
/// without one, the datasource's scrape interval (15 s, its default); that is also the range query's step.
/// <c>$__rate_interval</c> is max($__interval + scrape interval, 4 × scrape interval), the scrape interval
/// being the panel's min interval when it has one. A variable showing "All" becomes its allValue (or, without
/// one, its values: the agent's pod); the detail dashboard shows the first agent of the sample namespace;
/// <c>$topn</c> its default.
/// </summary>
public static class DashboardQueries
{
    /// <summary>The range every query covers: an hour unless the run asks for less.</summary>
    public static TimeSpan Range { get; set; } = TimeSpan.FromHours(1);

    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(15);

    /// <summary>The queries of <paramref name="dashboards"/>: panel targets (rows' panels too), then each dashboard's annotation.</summary>
    public static IEnumerable<DashboardQuery> Of(IEnumerable<JsonObject> dashboards)
    {
        foreach (var dashboard in dashboards)
        {
            var uid = (string)dashboard["uid"]!;
            var variables = Variables(dashboard);
            var panels = dashboard["panels"]!.AsArray().SelectMany(p => new[] { p! }.Concat(p!["panels"]?.AsArray().Select(n => n!) ?? []));
            foreach (var panel in panels)
            {
                var minInterval = panel["interval"] is { } i ? Duration((string)i!) : (TimeSpan?)null;
                var width = (int?)panel["gridPos"]?["w"] ?? 24;
                var interval = Max(Round(Range / (width / 24.0 * 1800)), minInterval ?? ScrapeInterval);
                var scrape = minInterval ?? ScrapeInterval;
                var rateInterval = Max(interval + scrape, 4 * scrape);
                foreach (var target in panel["targets"]?.AsArray() ?? [])
                {
                    var expr = Substitute((string)target!["expr"]!, variables, interval, rateInterval);
                    var instant = (bool?)target["instant"] == true && (bool?)target["range"] != true;
                    yield return new DashboardQuery(uid, (string)panel["title"]!, (string)target["refId"]!, expr, instant ? null : interval);
                }
            }

            foreach (var annotation in dashboard["annotations"]?["list"]?.AsArray() ?? [])
            {
                var step = Duration((string?)annotation!["step"] ?? "60s");
                yield return new DashboardQuery(
                    uid, $"annotation: {annotation["name"]}", "-", Substitute((string)annotation["expr"]!, variables, step, Max(step + ScrapeInterval, 4 * ScrapeInterval)), step);
            }
        }
    }

    private static Dictionary<string, string> Variables(JsonObject dashboard)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in dashboard["templating"]!["list"]!.AsArray())
        {
            var name = (string)variable!["name"]!;
            values[name] = variable["allValue"] is { } all ? (string)all!
                : variable["current"]?["value"] is { } current ? (string)current!
                : name switch
                {
                    "namespace" => SyntheticFleet.SampleNamespace,
                    "agent" => SyntheticFleet.AgentName(0),
                    // "All" without an allValue: the regex of the variable's values, the agent's one pod.
                    "pod" => SyntheticFleet.PodName(0),
                    _ => name,
                };
        }

        return values;
    }

    private static string Substitute(string expr, Dictionary<string, string> variables, TimeSpan interval, TimeSpan rateInterval)
    {
        var text = expr.Replace("$__rate_interval", Format(rateInterval), StringComparison.Ordinal)
            .Replace("$__interval", Format(interval), StringComparison.Ordinal)
            .Replace("$__range", Format(Range), StringComparison.Ordinal);
        // Longest names first, so $agent never replaces the start of a longer name.
        foreach (var (name, value) in variables.OrderByDescending(v => v.Key.Length))
        {
            text = text.Replace("${" + name + "}", value, StringComparison.Ordinal).Replace("$" + name, value, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>Grafana's rounding of a computed interval (its rangeutil.roundInterval), for the intervals an hour gives.</summary>
    private static TimeSpan Round(TimeSpan interval)
    {
        var ms = interval.TotalMilliseconds;
        var rounded = ms switch
        {
            < 1500 => 1000,
            < 3500 => 2000,
            < 7500 => 5000,
            < 12500 => 10000,
            < 17500 => 15000,
            < 25000 => 20000,
            < 45000 => 30000,
            _ => 60000,
        };
        return TimeSpan.FromMilliseconds(rounded);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>A Prometheus duration: 15s, 1m, 1h.</summary>
    public static string Format(TimeSpan span) =>
        span.TotalSeconds % 3600 == 0 ? $"{span.TotalHours:0}h"
        : span.TotalSeconds % 60 == 0 ? $"{span.TotalMinutes:0}m"
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0}s");

    private static TimeSpan Duration(string text) => text[^1] switch
    {
        's' => TimeSpan.FromSeconds(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
        'm' => TimeSpan.FromMinutes(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
        'h' => TimeSpan.FromHours(double.Parse(text[..^1], CultureInfo.InvariantCulture)),
        _ => throw new FormatException($"not a duration: {text}"),
    };
}
