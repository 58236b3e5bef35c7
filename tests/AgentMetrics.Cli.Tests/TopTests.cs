using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// top, run as the built program against a real Prometheus scraping real sidecars (<see cref="TopFleet"/>):
/// in a real terminal (tmux) for the live view, keys and the terminal given back; with --once and no
/// terminal for scripts; and with bad flags.
/// </summary>
[Collection(TopFleet.Collection)]
public sealed class TopTests(TopFleet fleet)
{
    private const string Red = "\e[31m";

    private string Url => fleet.Prometheus.Url.ToString();

    [Fact]
    public async Task TheLiveViewShowsEveryAgentWorstFirstWithPlausibleFiguresTheOutlierInRedAndQGivesTheTerminalBack()
    {
        await using var terminal = await TmuxTerminal.StartAsync(160, 40, Plugin.Path, ["top", "--prometheus", Url, "--history", "1m"]);
        var screen = await terminal.WaitForAsync(s => TopFleet.Agents.All(a => Row(s, a.Name) is [_, _, _, _, var tasks, ..] && tasks != "-"), "a row with a task rate for every agent");

        // Sorted by tasks per second, highest first: 8, 6, 4 and 2 tasks/s were sent.
        Assert.Equal(["checkout-agent", "research-agent", "support-agent", "refund-agent"], Order(screen));
        Assert.Contains("▼TASKS/S", screen, StringComparison.Ordinal);
        var slowest = TopFleet.Agents.Single(a => a.Name == "refund-agent");
        var slowestRate = Number(Row(screen, slowest.Name)![4]);
        foreach (var agent in TopFleet.Agents)
        {
            var row = Row(screen, agent.Name)!;
            Assert.Equal(agent.Namespace, row[1]);
            Assert.Equal("1", row[3]);
            // On a busy machine the feeder falls behind its ticks, the same for every agent: each rate is below
            // what was planned by as much as the others, so the rates stand to each other as the tasks sent.
            var rate = Number(row[4]);
            Assert.InRange(rate, agent.TaskRate * 0.4, agent.TaskRate * 1.2);
            Assert.InRange(rate / slowestRate, agent.TaskRate / slowest.TaskRate * 0.75, agent.TaskRate / slowest.TaskRate * 1.25);
            // Every task has the same tokens, counted from the same events over the same window.
            Assert.InRange(Number(row[10]) / rate, (TopFleet.TokensIn + TopFleet.TokensOut) * 0.9, (TopFleet.TokensIn + TopFleet.TokensOut) * 1.1);
            // Every duration sent falls in one bucket: p50 and p99 are interpolated within it.
            Assert.InRange(Seconds(row[5]), agent.Seconds / 2, agent.Seconds * 1.6);
            Assert.InRange(Seconds(row[6]), agent.Seconds / 2, agent.Seconds * 1.6);
            Assert.Equal(agent.Cost, Number(row[9]), 6);
        }

        var refund = Row(screen, "refund-agent")!;
        Assert.InRange(Number(refund[7]), 30, 70);
        Assert.InRange(Number(refund[8]), 30, 70);
        Assert.Equal("!", refund[0]);
        Assert.True(Number(refund[11]) > 2, $"refund-agent's outlier score: {string.Join(' ', refund)}");
        var checkout = Row(screen, "checkout-agent")!;
        Assert.Equal(["0.0%", "100%"], checkout[7..9]);
        Assert.True(Math.Abs(Number(checkout[11])) < 2, $"checkout-agent's outlier score: {string.Join(' ', checkout)}");
        // research-agent is alone in its namespace: too small a fleet to score.
        Assert.Equal("-", Row(screen, "research-agent")![11]);
        // A point a second over the last minute, of which the fleet has run for more than half.
        Assert.Matches("[▁▂▃▄▅▆▇█]{20,}$", string.Join(' ', refund));
        Assert.Contains("TASKS/S, LAST 1M", screen, StringComparison.Ordinal);
        Assert.Contains("4 of 4 agent(s) shown", screen, StringComparison.Ordinal);

        var styled = await terminal.CaptureAsync(escapes: true);
        Assert.Contains(Red, styled.Split('\n').Single(l => l.Contains("refund-agent", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain(Red, styled.Split('\n').Single(l => l.Contains("checkout-agent", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("1", await terminal.FormatAsync("#{alternate_on}"));

        // s: the next column, p50, slowest first.
        await terminal.SendKeysAsync("s");
        screen = await terminal.WaitForAsync(s => s.Contains("▼P50", StringComparison.Ordinal), "the view sorted by p50");
        Assert.Equal(["refund-agent", "research-agent", "support-agent", "checkout-agent"], Order(screen));

        await terminal.SendKeysAsync("q");
        screen = await terminal.WaitForAsync(s => s.Contains("exited ", StringComparison.Ordinal), "top to exit");
        Assert.Contains("exited 0", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("refund-agent", screen, StringComparison.Ordinal);
        Assert.Equal("0", await terminal.FormatAsync("#{alternate_on}"));
        Assert.Equal("1", await terminal.FormatAsync("#{cursor_flag}"));
    }

    [Fact]
    public async Task TheAgentFilterHidesTheOtherAgentsAndCtrlCGivesTheTerminalBack()
    {
        await using var terminal = await TmuxTerminal.StartAsync(160, 40, Plugin.Path, ["top", "--prometheus", Url, "--agent", "check|refund", "--sort", "p99"]);
        var screen = await terminal.WaitForAsync(s => Order(s).Count == 2, "two rows");

        Assert.Equal(["refund-agent", "checkout-agent"], Order(screen));
        Assert.Contains("2 of 2 agent(s) shown", screen, StringComparison.Ordinal);

        await terminal.SendKeysAsync("C-c");
        screen = await terminal.WaitForAsync(s => s.Contains("exited ", StringComparison.Ordinal), "top to exit");
        Assert.Contains("exited 0", screen, StringComparison.Ordinal);
        Assert.Equal("0", await terminal.FormatAsync("#{alternate_on}"));
        Assert.Equal("1", await terminal.FormatAsync("#{cursor_flag}"));
    }

    [Fact]
    public async Task OnceWithoutATerminalPrintsOnePlainFrameInTheOrderAskedForWithTheNamespaceFilter()
    {
        var result = await Plugin.RunAsync(["top", "--once", "--prometheus", Url, "--sort", "errors", "-n", "shop"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.DoesNotContain('\e', result.Stdout);
        Assert.Equal(["refund-agent", "checkout-agent", "support-agent"], Order(result.Stdout));
        Assert.Equal("!", Row(result.Stdout, "refund-agent")![0]);
        Assert.Contains("fleet (namespace shop):", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("sorted by ERRORS, highest first", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutATerminalFramesFollowOneAnotherAsPlainTextUntilSigterm()
    {
        var info = new ProcessStartInfo(Plugin.Path) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "top", "--prometheus", Url, "--interval", "200ms" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var frames = new List<StringBuilder>();
            while (frames.Count < 3 && await process.StandardOutput.ReadLineAsync(limit.Token) is { } line)
            {
                if (line.StartsWith("kubectl agentmetrics top", StringComparison.Ordinal))
                {
                    frames.Add(new StringBuilder());
                }

                frames.LastOrDefault()?.AppendLine(line);
            }

            await Command.RunAsync("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
            var rest = await process.StandardOutput.ReadToEndAsync(limit.Token);
            await process.WaitForExitAsync(limit.Token);

            Assert.Equal(143, process.ExitCode);
            Assert.DoesNotContain('\e', string.Concat(frames) + rest);
            foreach (var frame in frames.Take(2))
            {
                Assert.Equal(["checkout-agent", "research-agent", "support-agent", "refund-agent"], Order(frame.ToString()));
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task TheRowsAreBoundedAndTheHiddenAgentsCounted()
    {
        var result = await Plugin.RunAsync(["top", "--once", "--prometheus", Url, "--rows", "2", "--sort", "completion"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        // Completion: lowest first, so the outlier leads.
        Assert.Equal("refund-agent", Order(result.Stdout)[0]);
        Assert.Equal(2, Order(result.Stdout).Count);
        Assert.Contains("2 of 4 agent(s) shown, 2 hidden", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachablePrometheusIsAStatusLineWhileTheViewKeepsTrying()
    {
        var nowhere = $"http://127.0.0.1:{LoopbackPorts.Next()}";
        await using var terminal = await TmuxTerminal.StartAsync(160, 20, Plugin.Path, ["top", "--prometheus", nowhere]);
        var screen = await terminal.WaitForAsync(s => s.Contains("cannot reach Prometheus", StringComparison.Ordinal), "the status line");
        Assert.Contains($"cannot reach Prometheus at {nowhere}", screen, StringComparison.Ordinal);
        Assert.Contains("retrying every 1s", screen, StringComparison.Ordinal);

        await terminal.SendKeysAsync("q");
        screen = await terminal.WaitForAsync(s => s.Contains("exited ", StringComparison.Ordinal), "top to exit");
        Assert.Contains("exited 0", screen, StringComparison.Ordinal);

        var once = await Plugin.RunAsync(["top", "--once", "--prometheus", nowhere]);
        Assert.Equal(1, once.ExitCode);
        Assert.StartsWith($"kubectl-agentmetrics: cannot reach Prometheus at {nowhere}", once.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(" at AgentMetrics.", once.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--sort", "latency", "--sort must be one of pods, tasks, p50, p99, errors, completion, cost, tokens, outlier, got \"latency\"")]
    [InlineData("--interval", "0s", "--interval must be a Prometheus duration")]
    [InlineData("--history", "10", "--history must be a Prometheus duration")]
    [InlineData("--rows", "0", "--rows must be at least 1")]
    [InlineData("--agent", "check(", "--agent must be a regular expression")]
    [InlineData("--prometheus", "localhost:9090", "--prometheus must be an http or https URL")]
    public async Task BadFlagsExitWith2NamingTheFlag(string flag, string value, string message)
    {
        var result = await Plugin.RunAsync(["top", "--once", flag, value]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task TheHelpListsTop()
    {
        var result = await Plugin.RunAsync(["--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches("(?m)^  top +Show the fleet live from Prometheus", result.Stdout);
    }

    /// <summary>The agent rows of a frame (a row is the one line naming its agent), split into their fields, the "!" marker or "" first.</summary>
    internal static string[]? Row(string screen, string agent)
    {
        var line = screen.Split('\n').FirstOrDefault(l => l.Contains($" {agent} ", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (fields[0] != "!")
        {
            fields.Insert(0, "");
        }

        return [.. fields];
    }

    /// <summary>The agents of the fleet in the order their rows appear.</summary>
    internal static List<string> Order(string screen) =>
        [.. screen.Split('\n')
            .Select(l => TopFleet.Agents.FirstOrDefault(a => l.Contains($" {a.Name} ", StringComparison.Ordinal))?.Name)
            .OfType<string>()];

    /// <summary>A figure as top writes it, without its unit: 12.5, 1.2k (1200), 45.0%, $0.0020, +12.3.</summary>
    private static double Number(string text)
    {
        var scale = text.EndsWith('k') ? 1000 : 1;
        return double.Parse(text.TrimStart('$').TrimEnd('%', 'k'), NumberStyles.Float, CultureInfo.InvariantCulture) * scale;
    }

    /// <summary>A duration as top writes it, in seconds: 450ms, 2.41s.</summary>
    private static double Seconds(string text) =>
        text.EndsWith("ms", StringComparison.Ordinal) ? Number(text[..^2]) / 1000 : Number(text.TrimEnd('s'));
}
