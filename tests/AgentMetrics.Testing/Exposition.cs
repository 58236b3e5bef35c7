using System.Globalization;

namespace AgentMetrics.Testing;

/// <summary>Reading samples out of a Prometheus text exposition, as a test checks a scrape.</summary>
public static class Exposition
{
    /// <summary>
    /// The sum of the samples of metric <paramref name="name"/> whose line contains <paramref name="label"/>
    /// (a label pair such as <c>reason="metric_limit"</c>; empty for every series); 0 when there is none.
    /// </summary>
    public static double Sum(string exposition, string name, string label = "") =>
        exposition.Split('\n')
            .Where(line => (line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
                && line.Contains(label, StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
}
