using System.CommandLine;
using AgentMetrics.Cli.Commands;
using AgentMetrics.Cli.Manifests;

namespace AgentMetrics.Cli;

/// <summary>
/// The plugin's command line, on System.CommandLine: one subcommand per task. Bad usage (an unknown
/// command or flag, a bad value) and unreadable input end with exit code 2 and one line naming what is
/// wrong; a command's own findings decide between 0 and 1.
/// </summary>
public static class CliCommandLine
{
    /// <summary>The program's name, in messages.</summary>
    public const string Program = "kubectl-agentmetrics";

    /// <summary>Runs the command <paramref name="args"/> names and returns the process's exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error)
    {
        var root = new RootCommand(
            "kubectl agentmetrics: checks and renders AgentMetricDefinitions and AlertThresholds offline, with the operator's own "
            + "validators and renderers, for CI jobs and GitOps pipelines; shows the fleet live from Prometheus, and reports a period against the one before.");
        root.Subcommands.Add(ValidateCommand.Create(input, output, error));
        root.Subcommands.Add(RenderCommand.Create(input, output, error));
        root.Subcommands.Add(TopCommand.Create(output, error));
        root.Subcommands.Add(ReportCommand.Create(output, error));

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return Refuse(error, string.Join("; ", parsed.Errors.Select(e => e.Message).Distinct()));
        }

        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (ManifestException e)
        {
            return Refuse(error, e.Message);
        }
        catch (ArgumentException e)
        {
            return Refuse(error, e.Message);
        }
    }

    private static int Refuse(TextWriter error, string message)
    {
        error.WriteLine($"{Program}: {string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}");
        return 2;
    }
}
