using System.CommandLine;
using System.Text.RegularExpressions;
using AgentMetrics.Api.Validation;
using AgentMetrics.Cli.Prometheus;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// top: a live view of the fleet from the Prometheus HTTP API, one row per agent (task rate, p50/p99, error
/// and completion rates, cost per task, tokens per second, fleet outlier score, and a sparkline of its task
/// rate), worst first by a chosen column, outliers highlighted. Exit 0 when quit; 1 when --once got no
/// answer; 2 on bad usage.
/// </summary>
public static class TopCommand
{
    /// <summary>The Service queried through the API server when no --prometheus URL is given: kube-prometheus-stack's.</summary>
    public const string DefaultService = "monitoring/prometheus-operated:9090";

    /// <summary>The subcommand, printing to <paramref name="output"/> (a live view when it is the console on a terminal) and <paramref name="error"/>.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var prometheus = new Option<string?>("--prometheus") { Description = "the Prometheus HTTP API's URL (such as http://localhost:9090); without it, the Service of --prometheus-service is queried through the API server", HelpName = "url" };
        var service = new Option<string>("--prometheus-service")
        {
            Description = "the Prometheus Service, as [namespace/]name:port (port a number or a name), reached through the API server's service proxy with the kubeconfig's credentials",
            DefaultValueFactory = _ => DefaultService,
            HelpName = "service",
        };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "the kubeconfig for --prometheus-service (default: $KUBECONFIG, then ~/.kube/config)", HelpName = "path" };
        var context = new Option<string?>("--context") { Description = "the kubeconfig context (default: its current context)", HelpName = "name" };
        var @namespace = new Option<string?>("--namespace", "-n") { Description = "only the agents of this namespace (default: every namespace)", HelpName = "name" };
        var agent = new Option<string?>("--agent") { Description = "only the agents whose name contains this regular expression (a plain word matches as a substring)", HelpName = "pattern" };
        var sort = new Option<string>("--sort")
        {
            Description = $"the column the agents are ordered by, worst first (lowest first for completion): {string.Join(", ", TopColumn.Keys)}",
            DefaultValueFactory = _ => "tasks",
            HelpName = "column",
        };
        var reverse = new Option<bool>("--reverse") { Description = "best first instead of worst first" };
        var interval = new Option<string>("--interval") { Description = "how often to refresh, as a Prometheus duration (at least 100ms)", DefaultValueFactory = _ => "1s", HelpName = "duration" };
        var history = new Option<string>("--history") { Description = "how far back the sparklines of task rate go, as a Prometheus duration (1m to 24h)", DefaultValueFactory = _ => "5m", HelpName = "duration" };
        var rows = new Option<int?>("--rows") { Description = "at most this many agents (default: as many as fit the terminal; 50 when the output is not a terminal)", HelpName = "n" };
        var once = new Option<bool>("--once") { Description = "print one frame and exit (plain text when the output is not a terminal): for scripts and CI" };
        var command = new Command(
            "top",
            "Show the fleet live from Prometheus: per agent its task rate, p50/p99 response time, error and completion rates, cost per task, "
            + "tokens per second and fleet outlier score, with a sparkline of its task rate; outliers highlighted. "
            + "Keys: q quit, s or > next sort column, < previous, r reverse. Exit 0: quit; 1: --once got no answer from Prometheus; 2: bad usage.")
        {
            prometheus, service, kubeconfig, context, @namespace, agent, sort, reverse, interval, history, rows, once,
        };
        // A synchronous action: the live view handles SIGINT and SIGTERM itself, to give the terminal back first.
        command.SetAction(parsed =>
        {
            var every = Duration(parsed.GetValue(interval)!, "--interval", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
            var span = Duration(parsed.GetValue(history)!, "--history", TimeSpan.FromMinutes(1), TimeSpan.FromHours(24));
            var column = TopColumn.All.FirstOrDefault(c => c.Key == parsed.GetValue(sort))
                ?? throw new ArgumentException($"--sort must be one of {string.Join(", ", TopColumn.Keys)}, got \"{parsed.GetValue(sort)}\"");
            if (parsed.GetValue(rows) is < 1)
            {
                throw new ArgumentException("--rows must be at least 1");
            }

            var pattern = parsed.GetValue(agent);
            if (pattern is not null)
            {
                try
                {
                    _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
                }
                catch (ArgumentException e)
                {
                    throw new ArgumentException($"--agent must be a regular expression: {e.Message}", e);
                }
            }

            var view = new TopView(parsed.GetValue(@namespace), pattern, column, parsed.GetValue(reverse), span);
            // A request may take up to two refreshes, and never less than a few seconds, before it counts as unanswered.
            var timeout = TimeSpan.FromSeconds(Math.Max(5, every.TotalSeconds * 2));
            using var client = new PrometheusClient(PrometheusConnection.Open(parsed.GetValue(prometheus), parsed.GetValue(service)!, parsed.GetValue(kubeconfig), parsed.GetValue(context), timeout));
            var screen = new TopScreen(new TopSource(client, TimeProvider.System), output, error, every, parsed.GetValue(rows));
            var terminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
            return (parsed.GetValue(once) ? screen.OnceAsync(view, styled: terminal) : screen.RunAsync(view, terminal)).GetAwaiter().GetResult();
        });
        return command;
    }

    private static TimeSpan Duration(string text, string flag, TimeSpan least, TimeSpan most) =>
        PrometheusDuration.TryParse(text, out var value) && value >= least && value <= most
            ? value
            : throw new ArgumentException($"{flag} must be a Prometheus duration from {PrometheusDuration.Format(least)} to {PrometheusDuration.Format(most)} (such as 1s or 5m), got \"{text}\"");
}
