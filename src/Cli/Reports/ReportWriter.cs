using System.Text;
using System.Text.Json;

namespace AgentMetrics.Cli.Reports;

/// <summary>Writes a report as a terminal table, Markdown, CSV or JSON.</summary>
public static class ReportWriter
{
    /// <summary>The output formats, as <c>--output</c> names them.</summary>
    public static readonly IReadOnlyList<string> Formats = ["table", "markdown", "csv", "json"];

    /// <summary>Writes <paramref name="report"/> to <paramref name="output"/> in its request's format.</summary>
    public static void Write(Report report, TextWriter output)
    {
        switch (report.Request.Output)
        {
            case "markdown":
                WriteMarkdown(report, output);
                break;
            case "csv":
                WriteCsv(report, output);
                break;
            case "json":
                WriteJson(report, output);
                break;
            default:
                WriteTable(report, output);
                break;
        }
    }

    private static IEnumerable<(string Title, IReadOnlyList<ReportRow> Rows)> Sections(Report report) =>
        report.Request.ByVersion ? [("Versions", report.Agents)] : [("Namespaces", report.Namespaces), ("Agents", report.Agents)];

    private static List<string> Header(Report report, bool namespaces)
    {
        var header = new List<string> { "NAMESPACE" };
        if (!namespaces)
        {
            header.Add("AGENT");
        }

        if (report.Request.ByVersion)
        {
            header.AddRange(["VERSION", "BASELINE"]);
        }

        header.AddRange(ReportColumn.All.Select(c => c.Header));
        header.AddRange(["VERDICT", "ANOMALIES"]);
        return header;
    }

    private static List<string> Cells(Report report, ReportRow row, bool namespaces)
    {
        var cells = new List<string> { row.Key.Namespace };
        if (!namespaces)
        {
            cells.Add(row.Key.Agent);
        }

        if (report.Request.ByVersion)
        {
            cells.AddRange([row.Key.Version, row.BaselineVersion]);
        }

        cells.AddRange(ReportColumn.All.Select(c => ReportFormat.Cell(c, row)));
        cells.Add(row.Summary);
        cells.Add(row.Anomalies.Count == 0 ? "-" : string.Join("; ", row.Anomalies));
        return cells;
    }

    private static void WriteTable(Report report, TextWriter output)
    {
        output.WriteLine(report.Title);
        foreach (var (title, rows) in Sections(report))
        {
            var namespaces = title == "Namespaces";
            output.WriteLine();
            output.WriteLine($"{title}:");
            if (rows.Count == 0)
            {
                output.WriteLine(report.Request.ByVersion ? "(no agent ran more than one version in the period)" : "(no tasks recorded in either period)");
                continue;
            }

            var grid = new List<List<string>> { Header(report, namespaces) };
            grid.AddRange(rows.Select(r => Cells(report, r, namespaces)));
            var widths = Enumerable.Range(0, grid[0].Count).Select(i => grid.Max(r => r[i].Length)).ToList();
            foreach (var line in grid)
            {
                output.WriteLine(string.Join("  ", line.Select((cell, i) => i == line.Count - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
            }
        }
    }

    private static void WriteMarkdown(Report report, TextWriter output)
    {
        output.WriteLine($"**{report.Title}**");
        foreach (var (title, rows) in Sections(report))
        {
            output.WriteLine();
            output.WriteLine($"### {title}");
            output.WriteLine();
            var namespaces = title == "Namespaces";
            var header = Header(report, namespaces);
            output.WriteLine($"| {string.Join(" | ", header.Select(h => h.ToLowerInvariant()))} |");
            // Figures align right, names and verdicts left.
            output.WriteLine($"|{string.Concat(header.Select(h => ReportColumn.All.Any(c => c.Header == h) ? " ---: |" : " --- |"))}");
            foreach (var row in rows)
            {
                output.WriteLine($"| {string.Join(" | ", Cells(report, row, namespaces).Select(c => c.Replace("|", "\\|", StringComparison.Ordinal)))} |");
            }
        }
    }

    private static void WriteCsv(Report report, TextWriter output)
    {
        var header = new List<string> { "level", "namespace", "agent", "agent_version", "baseline_version" };
        foreach (var column in ReportColumn.All)
        {
            header.AddRange([column.Key, $"{column.Key}_baseline", $"{column.Key}_change"]);
        }

        header.AddRange(["verdict", "anomalies"]);
        output.WriteLine(string.Join(',', header));
        foreach (var row in report.Namespaces.Concat(report.Agents))
        {
            var fields = new List<string> { Level(report, row), row.Key.Namespace, row.Key.Agent, row.Key.Version, row.BaselineVersion };
            foreach (var column in ReportColumn.All)
            {
                fields.Add(Machine(row.Current is { } c ? column.Value(c) : null));
                fields.Add(Machine(row.Baseline is { } b ? column.Value(b) : null));
                fields.Add(Machine(row.Changes[column.Key]));
            }

            fields.Add(row.Verdict.ToString().ToLowerInvariant());
            fields.Add(string.Join("; ", row.Anomalies));
            output.WriteLine(string.Join(',', fields.Select(Csv)));
        }
    }

    private static string Machine(double? value) => value is { } v ? ReportFormat.Number(ReportFormat.Machine(v), "R") : "";

    private static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : field;

    private static string Level(Report report, ReportRow row) =>
        row.Key.Agent.Length == 0 ? "namespace" : report.Request.ByVersion ? "agent_version" : "agent";

    private static void WriteJson(Report report, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("at", ReportFormat.Time(report.Request.At));
            json.WriteString("since", Api.Validation.PrometheusDuration.Format(report.Request.Since));
            json.WriteString("compare", report.Comparison);
            WritePeriod(json, "current", report.Start, report.Request.At);
            WritePeriod(json, "baseline", report.BaselineStart, report.BaselineEnd);
            json.WriteStartArray("namespaces");
            foreach (var row in report.Namespaces)
            {
                WriteRow(json, report, row);
            }

            json.WriteEndArray();
            json.WriteStartArray(report.Request.ByVersion ? "versions" : "agents");
            foreach (var row in report.Agents)
            {
                WriteRow(json, report, row);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WritePeriod(Utf8JsonWriter json, string name, DateTimeOffset start, DateTimeOffset end)
    {
        json.WriteStartObject(name);
        json.WriteString("start", ReportFormat.Time(start));
        json.WriteString("end", ReportFormat.Time(end));
        json.WriteEndObject();
    }

    private static void WriteRow(Utf8JsonWriter json, Report report, ReportRow row)
    {
        json.WriteStartObject();
        json.WriteString("level", Level(report, row));
        json.WriteString("namespace", row.Key.Namespace);
        if (row.Key.Agent.Length > 0)
        {
            json.WriteString("agent", row.Key.Agent);
        }

        if (report.Request.ByVersion)
        {
            json.WriteString("agent_version", row.Key.Version);
            json.WriteString("baseline_version", row.BaselineVersion);
        }

        json.WriteString("verdict", row.Verdict.ToString().ToLowerInvariant());
        if (row.Verdict is Verdict.Regression or Verdict.Improvement)
        {
            var (column, _) = row.Verdict == Verdict.Regression ? row.Worst!.Value : row.Best!.Value;
            json.WriteString("ranked_by", column.Key);
            json.WriteNumber("ranked_change", ReportFormat.Machine(row.Changes[column.Key]!.Value));
        }

        WriteFigures(json, "current", row.Current);
        WriteFigures(json, "baseline", row.Baseline);
        json.WriteStartObject("change");
        foreach (var column in ReportColumn.All)
        {
            WriteNumber(json, column.Key, row.Changes[column.Key]);
        }

        json.WriteEndObject();
        json.WriteStartArray("anomalies");
        foreach (var anomaly in row.Anomalies)
        {
            json.WriteStartObject();
            json.WriteString("column", anomaly.Column);
            json.WriteNumber("change", ReportFormat.Machine(anomaly.Change));
            WriteNumber(json, "zscore", anomaly.ZScore);
            json.WriteString("direction", anomaly.Direction);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteFigures(Utf8JsonWriter json, string name, Figures? figures)
    {
        if (figures is null)
        {
            json.WriteNull(name);
            return;
        }

        json.WriteStartObject(name);
        foreach (var column in ReportColumn.All)
        {
            WriteNumber(json, column.Key, column.Value(figures));
        }

        json.WriteEndObject();
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, ReportFormat.Machine(v));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
