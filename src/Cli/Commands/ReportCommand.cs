using System.CommandLine;
using System.Globalization;
using AgentMetrics.Api.Validation;
using AgentMetrics.Cli.Prometheus;
using AgentMetrics.Cli.Reports;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// report: each namespace's and agent's figures over a period against the period before (or a week before),
/// or each agent's versions against each other, from the operator's hourly recorded series, ranked with
/// the largest regressions first and anomalies noted.
/// </summary>
public static class ReportCommand
{
    /// <summary>Exit code when Prometheus cannot be reached or refuses a query.</summary>
    public const int PrometheusFailed = 3;

    private static readonly TimeSpan Week = TimeSpan.FromDays(7);

    /// <summary>The subcommand, printing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static Command Create(TextWriter output, TextWriter error)
    {
        var prometheus = new Option<string?>("--prometheus") { Description = "the Prometheus to query, its base URL (http://prometheus.monitoring:9090); without it, the Service of --prometheus-service is queried through the API server. It must load the operator's built-in rules", HelpName = "url" };
        var service = new Option<string>("--prometheus-service")
        {
            Description = "the Prometheus Service, as [namespace/]name:port, reached through the API server's service proxy with the kubeconfig when no --prometheus is given",
            DefaultValueFactory = _ => TopCommand.DefaultService,
            HelpName = "[namespace/]name:port",
        };
        var kubeconfig = new Option<string?>("--kubeconfig") { Description = "the kubeconfig for --prometheus-service (default: $KUBECONFIG, then ~/.kube/config)", HelpName = "path" };
        var context = new Option<string?>("--context") { Description = "the kubeconfig context (default: its current context)", HelpName = "name" };
        var since = new Option<string>("--since") { Description = "the period's length, as a Prometheus duration (30d, 7d, 12h), at least 1h", DefaultValueFactory = _ => "30d", HelpName = "duration" };
        var compare = new Option<string>("--compare") { Description = "previous: against the period just before; week-over-week: against the same period a week earlier (--since at most 7d)", DefaultValueFactory = _ => "previous", HelpName = "previous|week-over-week" };
        var by = new Option<string?>("--by") { Description = "agent_version: compare each agent's versions over the period, each against the version that served most of its tasks, instead of two periods", HelpName = "agent_version" };
        var @namespace = new Option<string?>("--namespace", "-n") { Description = "only this namespace", HelpName = "namespace" };
        var agent = new Option<string?>("--agent") { Description = "only this agent", HelpName = "agent" };
        var format = new Option<string>("--output", "-o") { Description = "table, markdown, csv or json", DefaultValueFactory = _ => "table", HelpName = "format" };
        var at = new Option<string?>("--at") { Description = "the period's end, RFC 3339 (2026-11-30T00:00:00Z) or unix seconds; default now", HelpName = "time" };
        var command = new Command(
            "report",
            "Compare each namespace and agent over a period with the period before (or a week before), or each agent's versions, from the operator's hourly recorded series: "
            + "tasks, completion and error rates, p50/p99, cost per task and in total, tokens, escalations, hand-offs. Rows are ranked regressions first, largest first "
            + "(a row's size is its worst relative change among completion, errors, p50, p99 and cost per task), then improvements, largest first, then the rest; "
            + "an agent whose change is beyond a robust z-score of 3 against its namespace's agents, or a version over 50% worse than its agent's baseline version, is noted as an anomaly. "
            + "Exit 0: report printed; 2: bad usage; 3: Prometheus unreachable or refused a query.")
        {
            prometheus, service, kubeconfig, context, since, compare, by, @namespace, agent, format, at,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var request = Parse(
                parsed.GetValue(since)!, parsed.GetValue(compare)!, parsed.GetValue(by),
                parsed.GetValue(@namespace), parsed.GetValue(agent), parsed.GetValue(format)!, parsed.GetValue(at), DateTimeOffset.UtcNow);
            using var client = new PrometheusClient(PrometheusConnection.Open(
                parsed.GetValue(prometheus), parsed.GetValue(service)!, parsed.GetValue(kubeconfig), parsed.GetValue(context), TimeSpan.FromMinutes(2)));
            try
            {
                var queries = new ReportQueries(client, request);
                var current = await queries.FiguresAsync(TimeSpan.Zero, cancellationToken);
                var baseline = request.ByVersion ? current : await queries.FiguresAsync(request.BaselineShift, cancellationToken);
                var (namespaces, agents) = ReportBuilder.Build(request, current, baseline);
                ReportWriter.Write(new Report(request, namespaces, agents), output);
                return 0;
            }
            catch (PrometheusException e)
            {
                error.WriteLine($"{CliCommandLine.Program}: {e.Message}");
                return PrometheusFailed;
            }
        });
        return command;
    }

    /// <summary>Checks and reads the flags; a bad one throws an ArgumentException naming the flag and the rule (exit code 2).</summary>
    public static ReportRequest Parse(
        string since, string compare, string? by, string? @namespace, string? agent, string output, string? at, DateTimeOffset now)
    {
        if (!PrometheusDuration.TryParse(since, out var period) || period < TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"--since: {since} is not a Prometheus duration of at least 1h (such as 30d, 7d or 12h); the recorded series are hourly");
        }

        var comparison = (compare, by) switch
        {
            (_, "agent_version") => Comparison.AgentVersion,
            (_, { } other) => throw new ArgumentException($"--by: {other} is not agent_version, the only grouping the report compares"),
            ("previous", null) => Comparison.Previous,
            ("week-over-week", null) => Comparison.WeekOverWeek,
            _ => throw new ArgumentException($"--compare: {compare} is neither previous nor week-over-week"),
        };
        if (comparison == Comparison.WeekOverWeek && period > Week)
        {
            throw new ArgumentException($"--since: {since} is longer than 7d, so week-over-week would compare overlapping periods; use --compare previous");
        }

        if (!ReportWriter.Formats.Contains(output))
        {
            throw new ArgumentException($"--output: {output} is not one of {string.Join(", ", ReportWriter.Formats)}");
        }

        foreach (var (flag, value) in new[] { ("--namespace", @namespace), ("--agent", agent) })
        {
            if (value is { Length: 0 })
            {
                throw new ArgumentException($"{flag}: must not be empty");
            }
        }

        return new ReportRequest(period, comparison, @namespace, agent, output, at is null ? now : Time(at));
    }

    private static DateTimeOffset Time(string at)
    {
        if (long.TryParse(at, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 253402300799)
        {
            return DateTimeOffset.FromUnixTimeSeconds(seconds);
        }

        if (at.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            && (at.EndsWith('Z') || at.EndsWith('z') || at.LastIndexOfAny(['+', '-']) > at.IndexOf('T', StringComparison.Ordinal)))
        {
            return time;
        }

        throw new ArgumentException($"--at: {at} is neither an RFC 3339 time with its offset (2026-11-30T00:00:00Z) nor unix seconds");
    }
}
