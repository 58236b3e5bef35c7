using System.Text.Json;
using System.Text.RegularExpressions;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// make demo's program, as a newcomer runs it: everything comes up on a real node, the printed kubectl
/// commands show every pod 2/2 Running and reach its logs and exec, the printed Prometheus shows the
/// fleet's metrics moving and the planted slow agent standing out, and Ctrl-C leaves no process,
/// container or network device behind.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed partial class DemoTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheDemoComesUpShowsTheFleetAndCtrlCLeavesNothingRunning()
    {
        var demo = RepoPaths.Combine("demo", "AgentMetrics.Demo", "bin", "Release", "net10.0", "agent-metrics-demo.dll");
        Assert.True(File.Exists(demo), $"{demo} is missing: make build builds it");
        var directory = ProcessRegistry.Current.CreateDirectory("demo");
        // The demo's own runs go beside the test root (ROOT-dXXXX, which hack/check-leftovers.sh also
        // checks), not inside this run: a node's socket paths under a root nested that deep would pass
        // the 107 bytes a Unix socket's path holds.
        var root = $"{ProcessRegistry.RootDirectory}-d{Path.GetFileName(directory)[^4..]}";
        var log = Path.Combine(directory, "demo.log");
        // A terminal delivers Ctrl-C; a test runner may have started this process with SIGINT ignored, which
        // .NET then keeps ignored. perl (always on Debian) restores the default before it becomes the demo.
        await using var process = ManagedProcess.Start(
            "agent-metrics-demo", "perl", ["-e", "$SIG{INT} = 'DEFAULT'; exec @ARGV or die \"exec: $!\"", "dotnet", demo, "--agents", "6"], log,
            new Dictionary<string, string> { ["AGENT_METRICS_TEST_ROOT"] = root });

        Uri? prometheus = null;
        await Eventually.UntilAsync(
            async () =>
            {
                Assert.False(process.HasExited, $"the demo exited:\n{process.LogTail(60)}");
                var match = PrometheusLine().Match(await File.ReadAllTextAsync(log));
                prometheus = match.Success ? new Uri(match.Groups[1].Value) : null;
                return prometheus is not null;
            },
            TimeSpan.FromMinutes(4), "the demo to print where Prometheus is");

        // The kubectl lines it prints work as printed: six pods 2/2 Running, a sidecar's log, an exec into it.
        var printed = await File.ReadAllTextAsync(log);
        var kubectl = new Kubectl(KubeconfigLine().Match(printed).Groups[1].Value);
        var pods = "";
        await Eventually.UntilAsync(
            async () =>
            {
                pods = await kubectl.RunAsync("get", "pods", "-n", "agents", "-o", "wide");
                var lines = pods.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
                return lines.Count == 6 && lines.All(l => RunningLine().IsMatch(l));
            },
            TimeSpan.FromSeconds(60), "six pods 2/2 Running");
        output.WriteLine(pods);
        Assert.Equal(2, CommandLines().Matches(printed).Count);
        foreach (var command in CommandLines().Matches(printed).Select(m => m.Groups[1].Value.Trim()))
        {
            var arguments = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3..];
            var result = await kubectl.TryRunAsync(null, arguments);
            Assert.True(result.ExitCode == 0 && result.Stdout.Length > 0, $"kubectl {string.Join(' ', arguments)}: {result.Stderr}");
            output.WriteLine($"kubectl {string.Join(' ', arguments)}: {result.Stdout.Split('\n')[0]}");
        }

        using var http = new HttpClient();
        async Task<double> QueryAsync(string promql)
        {
            using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(prometheus!, $"/api/v1/query?query={Uri.EscapeDataString(promql)}")));
            var result = document.RootElement.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0 ? double.NaN : double.Parse(result[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        }

        await Eventually.UntilAsync(
            async () => await QueryAsync("count(count by (pod) (agent_metrics_sidecar_series))") == 6, TimeSpan.FromSeconds(60), "six agents reporting");
        // A sidecar reports itself before its agent's first task arrives: the count is there to compare only once a task is.
        var before = double.NaN;
        await Eventually.UntilAsync(
            async () => !double.IsNaN(before = await QueryAsync("sum(agent_tasks_total)")), TimeSpan.FromSeconds(30), "the first finished task");
        var now = before;
        try
        {
            await Eventually.UntilAsync(async () => (now = await QueryAsync("sum(agent_tasks_total)")) > before, TimeSpan.FromSeconds(30), "the fleet's task count to move");
        }
        catch (TimeoutException e)
        {
            using var perPod = JsonDocument.Parse(await http.GetStringAsync(new Uri(
                prometheus!, $"/api/v1/query?query={Uri.EscapeDataString("sum by (pod) (agent_tasks_total) or count by (pod) (agent_metrics_sidecar_series)")}")));
            throw new TimeoutException(
                $"{e.Message}: it was {before} and is {now}; by pod: {perPod.RootElement.GetProperty("data").GetProperty("result")}\n{process.LogTail(60)}", e);
        }

        output.WriteLine($"tasks went from {before} to {now}; {process.LogTail(14)}");

        // Three kinds of agent, two pods each; support-agent is the slow one. Its fleet score stands far
        // above 3, the two others' stay below it, and its p99 alert is pending (it fires after 5m).
        const string Score = "namespace_agent:agent_task_duration_seconds:p99_5m:fleet_zscore";
        var scores = "";
        try
        {
            await Eventually.UntilAsync(
                async () =>
                {
                    scores = await http.GetStringAsync(new Uri(prometheus!, $"/api/v1/query?query={Uri.EscapeDataString($"{Score} or ALERTS")}"));
                    return await QueryAsync($"count({Score})") == 3
                        && await QueryAsync($"{Score}{{agent=\"support-agent\"}}") > 3
                        && double.IsNaN(await QueryAsync($"abs({Score}{{agent!=\"support-agent\"}}) > 3"))
                        && await QueryAsync("count(ALERTS{alertname=\"SupportP99Latency\", agent=\"support-agent\"})") == 1;
                },
                TimeSpan.FromSeconds(120), "support-agent's fleet score above 3, the others' below it, and its SupportP99Latency alert");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; scores and alerts: {scores}\n{process.LogTail(40)}", e);
        }

        // Ctrl-C, as in a terminal.
        using (var interrupt = System.Diagnostics.Process.Start("kill", ["-INT", process.Identity.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync();
            Assert.Equal(0, interrupt.ExitCode);
        }

        await Eventually.UntilAsync(() => Task.FromResult(process.HasExited), TimeSpan.FromSeconds(60), "the demo to stop");
        // Its reaper, a detached watcher, takes a moment to see it gone and finish too.
        List<string> left = [];
        await Eventually.UntilAsync(
            () =>
            {
                left = Directory.Exists(root) ? [.. Directory.GetDirectories(root).SelectMany(Leftovers)] : [];
                return Task.FromResult(left.Count == 0);
            },
            TimeSpan.FromSeconds(20), "nothing the demo started to be running").ContinueWith(
            t => Assert.True(left.Count == 0, $"still running after Ctrl-C: {string.Join(", ", left)}"), TaskScheduler.Default);
        Directory.Delete(root, recursive: true);
    }

    /// <summary>Processes whose command line names the run directory: what the demo started and did not stop.</summary>
    private static IEnumerable<string> Leftovers(string runDirectory)
    {
        foreach (var proc in Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(proc, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (commandLine.Contains(runDirectory, StringComparison.Ordinal))
            {
                yield return $"{Path.GetFileName(proc)}: {commandLine}";
            }
        }
    }

    [GeneratedRegex(@"Prometheus\s+(http://[0-9.]+:\d+/)")]
    private static partial Regex PrometheusLine();

    [GeneratedRegex(@"kubectl --kubeconfig (\S+) get agentmetrics")]
    private static partial Regex KubeconfigLine();

    /// <summary>The printed kubectl logs and kubectl exec commands.</summary>
    [GeneratedRegex(@"^\s+(kubectl --kubeconfig \S+ (?:logs|exec) .*)$", RegexOptions.Multiline)]
    private static partial Regex CommandLines();

    /// <summary>A line of kubectl get pods for a pod with both containers ready and running.</summary>
    [GeneratedRegex(@"^\S+\s+2/2\s+Running\s")]
    private static partial Regex RunningLine();
}
