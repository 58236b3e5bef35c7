using System.Globalization;
using System.Text;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// Lays a <see cref="TopSnapshot"/> out as lines of at most a given width: a title, the fleet's totals, a
/// status line, the column headings and one row per agent, then what was left out. With styles, the
/// sort column's heading is in reverse video and anomalous rows in red (SGR escape sequences); without,
/// the text alone, and anomalous rows still begin with "!".
/// </summary>
internal static class TopFrame
{
    /// <summary>The sparkline's characters, lowest to highest.</summary>
    public const string Blocks = "▁▂▃▄▅▆▇█";

    /// <summary>The namespace column's narrowest and widest.</summary>
    public static readonly (int Min, int Max) NamespaceWidths = (9, 24);

    /// <summary>The agent column's narrowest and widest.</summary>
    public static readonly (int Min, int Max) AgentWidths = (5, 32);

    private const string Reset = "\e[0m";
    private const string Red = "\e[31m";
    private const string Bold = "\e[1m";
    private const string Reverse = "\e[7m";
    private const string Dim = "\e[2m";

    /// <summary>Lines of the frame. <paramref name="problem"/> is the last refresh's failure, shown instead of the keys.</summary>
    public static List<string> Render(
        TopSnapshot? snapshot, string? problem, TopView view, string source, TimeSpan interval, int width, bool styled, bool keys)
    {
        var lines = new List<string>();
        var at = snapshot?.At.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) ?? "no data yet";
        lines.Add(Line(width, styled, (Bold, $"kubectl agentmetrics top"), ("", $" · {source} · every {Duration(interval)} · {at}")));
        lines.Add(Line(width, styled, ("", Fleet(snapshot, view))));
        var order = $"sorted by {view.Sort.Heading}, {(view.Sort.HighestFirst != view.Reversed ? "highest" : "lowest")} first";
        lines.Add(problem is not null
            ? Line(width, styled, (Red, $"{problem}; retrying every {Duration(interval)}{(snapshot is null ? "" : $" (showing {at})")}"))
            : Line(width, styled, ("", order), (Dim, keys ? " · q quit · s/> next column · < previous · r reverse" : "")));
        lines.Add("");
        if (snapshot is null)
        {
            return lines;
        }

        var rows = snapshot.Rows;
        var namespaceWidth = Math.Clamp(rows.Select(r => r.Namespace.Length).DefaultIfEmpty(0).Max(), NamespaceWidths.Min, NamespaceWidths.Max);
        var agentWidth = Math.Clamp(rows.Select(r => r.Agent.Length).DefaultIfEmpty(0).Max(), AgentWidths.Min, AgentWidths.Max);
        var sparkWidth = Math.Min(60, width - FixedWidth(namespaceWidth, agentWidth) - 1);
        var heading = new List<(string, string)> { ("", "  " + Pad("NAMESPACE", namespaceWidth) + " " + Pad("AGENT", agentWidth)) };
        foreach (var column in TopColumn.All)
        {
            var arrow = column == view.Sort ? (column.HighestFirst != view.Reversed ? "▼" : "▲") : "";
            heading.Add(("", " "));
            heading.Add((column == view.Sort ? Reverse : "", Right(arrow + column.Heading, column.Width)));
        }

        if (sparkWidth >= 8)
        {
            heading.Add(("", " " + $"TASKS/S, LAST {Duration(view.History).ToUpperInvariant()}"));
        }

        lines.Add(Line(width, styled, [.. heading]));
        foreach (var row in rows)
        {
            var text = new StringBuilder(row.Anomalous ? "! " : "  ")
                .Append(Pad(row.Namespace, namespaceWidth)).Append(' ').Append(Pad(row.Agent, agentWidth));
            foreach (var column in TopColumn.All)
            {
                text.Append(' ').Append(Right(Figure(row, column), column.Width));
            }

            if (sparkWidth >= 8)
            {
                text.Append(' ').Append(Sparkline(row.TaskRates, sparkWidth));
            }

            lines.Add(Line(width, styled, (row.Anomalous ? Red : "", text.ToString())));
        }

        var anomalous = rows.Count(r => r.Anomalous);
        var footer = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"{rows.Count} of {snapshot.Agents} agent(s) shown"));
        if (snapshot.Agents > rows.Count)
        {
            footer.Append(CultureInfo.InvariantCulture, $", {snapshot.Agents - rows.Count} hidden (narrow with --namespace or --agent)");
        }

        footer.Append(CultureInfo.InvariantCulture, $" · {anomalous} outlier(s): fleet outlier score beyond ±{TopColumn.OutlierScore:0}, marked !");
        lines.Add(Line(width, styled, (Dim, footer.ToString())));
        return lines;
    }

    /// <summary>The width of a row without its sparkline: the marker, the names and the figures, each after a space.</summary>
    public static int FixedWidth(int namespaceWidth, int agentWidth) => 2 + namespaceWidth + 1 + agentWidth + TopColumn.All.Sum(c => c.Width + 1);

    /// <summary>
    /// A sparkline of <paramref name="values"/>, scaled from 0 to the largest, a gap where there is no value;
    /// at most <paramref name="width"/> characters, neighbouring values averaged when there are more.
    /// </summary>
    public static string Sparkline(IReadOnlyList<double?> values, int width)
    {
        var shown = new List<double?>();
        for (var i = 0; i < Math.Min(width, values.Count); i++)
        {
            var from = i * values.Count / Math.Min(width, values.Count);
            var to = (i + 1) * values.Count / Math.Min(width, values.Count);
            var present = values.Skip(from).Take(to - from).Where(v => v is not null).Select(v => v!.Value).ToList();
            shown.Add(present.Count > 0 ? present.Average() : null);
        }

        var highest = shown.Where(v => v is not null).Select(v => v!.Value).DefaultIfEmpty(0).Max();
        var line = new StringBuilder();
        foreach (var value in shown)
        {
            line.Append(value switch
            {
                null => ' ',
                _ when highest <= 0 => Blocks[0],
                var v => Blocks[(int)Math.Round(Math.Clamp(v.Value / highest, 0, 1) * (Blocks.Length - 1))],
            });
        }

        return line.ToString();
    }

    private static string Figure(TopRow row, TopColumn column)
    {
        if (column.Key == "outlier")
        {
            return row.Outlier is { } z ? $"{TopFormat.Score(z)} {row.OutlierOf}" : "-";
        }

        return row.Figures.TryGetValue(column.Key, out var value) && !double.IsInfinity(value) ? column.Format(value) : "-";
    }

    private static string Fleet(TopSnapshot? snapshot, TopView view)
    {
        var scope = view.Namespace is null ? "all namespaces" : $"namespace {view.Namespace}";
        if (snapshot is null)
        {
            return $"fleet ({scope}):";
        }

        string Value(string name, Func<double, string> format) =>
            snapshot.Fleet.TryGetValue(name, out var v) && !double.IsNaN(v) && !double.IsInfinity(v) ? format(v) : "-";
        return $"fleet ({scope}): {Value("pods", TopFormat.Count)} pods · {Value("tasks", TopFormat.Rate)} tasks/s · p99 {Value("p99", TopFormat.Seconds)}"
            + $" · errors {Value("errors", TopFormat.Percent)} · done {Value("completion", TopFormat.Percent)} · {Value("cost", TopFormat.Dollars)}/task"
            + $" · {Value("tokens", TopFormat.Rate)} tokens/s · {Value("alerts", TopFormat.Count)} alerts firing";
    }

    /// <summary>Joins styled parts into one line cut at <paramref name="width"/> visible characters, the styles only when <paramref name="styled"/>.</summary>
    private static string Line(int width, bool styled, params (string Style, string Text)[] parts)
    {
        var line = new StringBuilder();
        var left = width;
        foreach (var (style, text) in parts)
        {
            if (left <= 0)
            {
                break;
            }

            var cut = text.Length > left ? text[..left] : text;
            left -= cut.Length;
            if (styled && style.Length > 0)
            {
                line.Append(style).Append(cut).Append(Reset);
            }
            else
            {
                line.Append(cut);
            }
        }

        return line.ToString().TrimEnd();
    }

    private static string Pad(string text, int width) => text.Length > width ? text[..(width - 1)] + "~" : text.PadRight(width);

    private static string Right(string text, int width) => text.Length > width ? text[..width] : text.PadLeft(width);

    private static string Duration(TimeSpan span) => AgentMetrics.Api.Validation.PrometheusDuration.Format(span);
}
