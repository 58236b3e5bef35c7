using System.CommandLine;
using System.Text.Json;
using AgentMetrics.Cli.Manifests;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// validate: checks every AgentMetricDefinition and AlertThreshold of the input as the admission webhook
/// and the reconcilers would, and prints each problem as file:line: kind/name: field: rule. Exit code 0
/// when there is no error (warnings allowed), 1 when there is one.
/// </summary>
public static class ValidateCommand
{
    /// <summary>The subcommand, reading from <paramref name="input"/> for - and printing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static Command Create(TextReader input, TextWriter output, TextWriter error)
    {
        var paths = ManifestArguments.Paths();
        var @namespace = ManifestArguments.Namespace();
        var format = new Option<string>("--output", "-o")
        {
            Description = "text (one line per problem) or json",
            DefaultValueFactory = _ => "text",
            HelpName = "format",
        };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command(
            "validate",
            "Check AgentMetricDefinitions and AlertThresholds as the operator's webhook does, and print each problem as file:line: kind/name: field: rule. "
            + "Exit 0: no errors (a threshold on a metric nothing defines is a warning); 1: errors; 2: bad usage or unreadable input.")
        {
            paths, @namespace, format,
        };
        command.SetAction(parsed =>
        {
            var manifests = ManifestSource.Read(parsed.GetValue(paths)!, input);
            var result = ManifestChecker.Check(manifests, parsed.GetValue(@namespace)!);
            var errors = result.Problems.Count(p => p.Severity == Severity.Error);
            if (parsed.GetValue(format) == "json")
            {
                WriteJson(output, result);
            }
            else
            {
                foreach (var problem in result.Problems)
                {
                    output.WriteLine(problem);
                }

                var warnings = result.Problems.Count - errors;
                error.WriteLine($"{result.Checked} object(s) checked: {errors} error(s), {warnings} warning(s)");
            }

            return errors > 0 ? 1 : 0;
        });
        return command;
    }

    private static void WriteJson(TextWriter output, CheckResult result)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("checked", result.Checked);
            json.WriteNumber("errors", result.Problems.Count(p => p.Severity == Severity.Error));
            json.WriteNumber("warnings", result.Problems.Count(p => p.Severity == Severity.Warning));
            json.WriteStartArray("problems");
            foreach (var problem in result.Problems)
            {
                json.WriteStartObject();
                json.WriteString("file", problem.File);
                json.WriteNumber("line", problem.Line);
                json.WriteString("severity", problem.Severity == Severity.Error ? "error" : "warning");
                json.WriteString("kind", problem.Kind);
                json.WriteString("namespace", problem.Namespace);
                json.WriteString("name", problem.Name);
                json.WriteString("field", problem.Field);
                json.WriteString("rule", problem.Rule);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
