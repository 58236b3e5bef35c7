using System.Text.RegularExpressions;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Rendering;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// The PromQL <c>top</c> sends each refresh: the agents to show (the top N by the sort column, so 5000
/// agents never come back as 5000 rows), their figures, their task rate over the last minutes for the
/// sparklines, and the namespace totals the fleet overview's "now" panels read.
/// </summary>
internal static class TopQueries
{
    /// <summary>The label that tells the parts of a combined query apart.</summary>
    public const string Part = "top_part";

    /// <summary>
    /// The label matchers of the filters: the namespace exactly, the agent by a regular expression found
    /// anywhere in its name (so a plain word matches as a substring). Every series carries a namespace, so
    /// without a filter the selector is still never empty.
    /// </summary>
    public static string Selector(string? @namespace, string? agent)
    {
        var namespaceMatcher = @namespace is null ? "namespace!=\"\"" : $"namespace={PromQl.String(@namespace)}";
        return agent is null ? namespaceMatcher : $"{namespaceMatcher}, agent=~{PromQl.String($".*(?:{agent}).*")}";
    }

    /// <summary>Every agent the filters select whose sidecar reports, once each.</summary>
    public static string Agents(string selector) => $"group by ({PromQl.PerAgent}) ({TopColumn.Pods}{{{selector}}})";

    /// <summary>How many agents the filters select.</summary>
    public static string Count(string selector) => $"count({Agents(selector)})";

    /// <summary>
    /// The <paramref name="rows"/> agents to show, worst first by <paramref name="sort"/> (or best first when
    /// <paramref name="reversed"/>). Agents without a value for the column (no tasks in the window, no score
    /// in a fleet too small to score) come after those with one, so they still fill the rows left.
    /// </summary>
    public static string Chosen(TopColumn sort, bool reversed, string selector, int rows)
    {
        var highestFirst = sort.HighestFirst != reversed;
        var last = highestFirst ? "-Inf" : "+Inf";
        return $"{(highestFirst ? "topk" : "bottomk")}({rows}, ({sort.Query(selector)}) or on ({PromQl.PerAgent}) ({Agents(selector)} * {last}))";
    }

    /// <summary>The selector narrowed to the agents shown (their namespaces and names as regular expressions; rows are matched exactly afterwards).</summary>
    public static string Narrowed(string selector, IReadOnlyCollection<(string Namespace, string Agent)> agents) =>
        $"{selector}, namespace=~{Alternatives(agents.Select(a => a.Namespace))}, agent=~{Alternatives(agents.Select(a => a.Agent))}";

    /// <summary>Every column's figure for the agents <paramref name="narrowed"/> selects, in one query, each part labelled with its column's key.</summary>
    public static string Figures(string narrowed) => string.Join(
        " or ",
        TopColumn.All.Select(c => c.Key == "outlier" ? Labelled(TopColumn.Scores(narrowed), c.Key) : Labelled(c.Query(narrowed), c.Key)));

    /// <summary>Tasks per second per agent, each point a rate over <paramref name="window"/>: the sparkline's range query.</summary>
    public static string TaskRate(string narrowed, string window) =>
        PromQl.Statistic(BuiltInMetrics.Tasks.Name, BuiltInMetrics.Tasks.Type, "rate", narrowed, window, PromQl.PerAgent);

    /// <summary>
    /// The fleet's figures, from the recorded namespace totals the fleet overview's stat panels read (so
    /// the two agree), for the namespace filter only: each part one value, labelled with its name.
    /// </summary>
    public static string Fleet(string? @namespace)
    {
        var scope = @namespace is null ? "namespace!=\"\"" : $"namespace={PromQl.String(@namespace)}";
        string Total(int i, string extra = "") => $"sum({RuleRenderer.NowTotals[i].Record}{{{scope}{extra}}})";
        var tasks = Total(0);
        var parts = new (string Name, string Expr)[]
        {
            ("pods", $"sum({RuleRenderer.PodsReporting}{{{scope}}})"),
            ("tasks", tasks),
            ("p99", $"histogram_quantile(0.99, sum by (le) ({RuleRenderer.NowTotals[1].Record}{{{scope}}}))"),
            ("errors", $"({Total(0, ", outcome=\"failure\"")} or vector(0)) / {tasks}"),
            ("completion", $"({Total(0, ", outcome=\"success\"")} or vector(0)) / {tasks}"),
            ("cost", $"{Total(2)} / {Total(3)}"),
            ("tokens", Total(5)),
            ("alerts", $"count({Dashboards.FiringAlerts(scope)}) or vector(0)"),
        };
        return string.Join(" or ", parts.Select(p => Labelled(p.Expr, p.Name)));
    }

    private static string Labelled(string expr, string name) => $"label_replace({expr}, \"{Part}\", \"{name}\", \"\", \"\")";

    private static string Alternatives(IEnumerable<string> values) =>
        PromQl.String(string.Join('|', values.Distinct().Order(StringComparer.Ordinal).Select(Regex.Escape)));
}
