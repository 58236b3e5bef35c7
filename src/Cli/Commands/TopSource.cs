using AgentMetrics.Api.Validation;
using AgentMetrics.Cli.Prometheus;

namespace AgentMetrics.Cli.Commands;

/// <summary>Reads a <see cref="TopSnapshot"/> from Prometheus: four queries, the last three at once.</summary>
internal sealed class TopSource(PrometheusClient prometheus, TimeProvider clock)
{
    /// <summary>Where the figures come from.</summary>
    public string Description => prometheus.Description;

    /// <summary>Reads the fleet, the <paramref name="rows"/> agents to show and <paramref name="points"/> sparkline points each.</summary>
    public async Task<TopSnapshot> ReadAsync(TopView view, int rows, int points, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var selector = view.Selector;
        var fleet = prometheus.QueryAsync(TopQueries.Fleet(view.Namespace), now, cancellationToken);
        var count = prometheus.QueryAsync(TopQueries.Count(selector), now, cancellationToken);
        var chosen = Order(await prometheus.QueryAsync(TopQueries.Chosen(view.Sort, view.Reversed, selector, rows), now, cancellationToken), view);

        IReadOnlyList<TopRow> shown = [];
        if (chosen.Count > 0)
        {
            var narrowed = TopQueries.Narrowed(selector, chosen);
            var step = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(view.History.TotalSeconds / Math.Max(1, points))));
            var window = SparkWindow(step);
            var figures = prometheus.QueryAsync(TopQueries.Figures(narrowed), now, cancellationToken);
            var rates = prometheus.QueryRangeAsync(TopQueries.TaskRate(narrowed, window), now - (step * (points - 1)), now, step, cancellationToken);
            shown = Rows(chosen, await figures, await rates, now, step, points);
        }

        var totals = (await fleet).ToDictionary(s => s.Label(TopQueries.Part), s => s.Value);
        var agents = (await count) is [var total, ..] ? (int)total.Value : 0;
        return new TopSnapshot(now, totals, shown, agents);
    }

    /// <summary>The rate window of a sparkline point: its step, so no task falls between points, and never shorter than the rows' own window.</summary>
    private static string SparkWindow(TimeSpan step)
    {
        PrometheusDuration.TryParse(TopColumn.Window, out var rows);
        return PrometheusDuration.Format(step > rows ? step : rows);
    }

    /// <summary>The chosen agents in the order shown: by the sort value, those without one last, then by name.</summary>
    private static List<(string Namespace, string Agent)> Order(IReadOnlyList<InstantSample> chosen, TopView view)
    {
        var highestFirst = view.Sort.HighestFirst != view.Reversed;
        double Key(double v) => double.IsNaN(v) || double.IsInfinity(v) ? double.PositiveInfinity : highestFirst ? -v : v;
        return [.. chosen
            .OrderBy(s => Key(s.Value))
            .ThenBy(s => s.Label("namespace"), StringComparer.Ordinal)
            .ThenBy(s => s.Label("agent"), StringComparer.Ordinal)
            .Select(s => (s.Label("namespace"), s.Label("agent")))];
    }

    private static List<TopRow> Rows(
        List<(string Namespace, string Agent)> chosen, IReadOnlyList<InstantSample> figures, IReadOnlyList<RangeSeries> rates,
        DateTimeOffset now, TimeSpan step, int points)
    {
        var rows = new List<TopRow>();
        foreach (var (@namespace, agent) in chosen)
        {
            bool Mine(IReadOnlyDictionary<string, string> labels) =>
                labels.GetValueOrDefault("namespace") == @namespace && labels.GetValueOrDefault("agent") == agent;
            var own = figures.Where(f => Mine(f.Labels)).ToList();
            var values = own.Where(f => f.Label(TopQueries.Part) != "outlier" && !double.IsNaN(f.Value))
                .ToDictionary(f => f.Label(TopQueries.Part), f => f.Value);
            var scores = own.Where(f => f.Label(TopQueries.Part) == "outlier" && !double.IsNaN(f.Value)).ToList();
            var largest = scores.OrderByDescending(s => Math.Abs(s.Value)).FirstOrDefault();
            if (largest is not null)
            {
                values["outlier"] = Math.Abs(largest.Value);
            }

            var sparkline = new double?[points];
            foreach (var (time, value) in rates.FirstOrDefault(r => Mine(r.Labels))?.Points ?? [])
            {
                var index = points - 1 - (int)Math.Round((now - time) / step);
                if (index >= 0 && index < points && !double.IsNaN(value))
                {
                    sparkline[index] = value;
                }
            }

            rows.Add(new TopRow(@namespace, agent, values, largest?.Value, largest is null ? null : TopColumn.ScoredStatistic(largest.Label("__name__")), sparkline));
        }

        return rows;
    }
}
