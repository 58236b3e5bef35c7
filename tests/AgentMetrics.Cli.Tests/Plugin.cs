using AgentMetrics.Testing;

namespace AgentMetrics.Cli.Tests;

/// <summary>Runs the built plugin, as kubectl would, and finds the line a YAML fixture marks.</summary>
internal static class Plugin
{
    /// <summary>
    /// The program: the published file (self-contained and trimmed, as it ships) named by AGENT_METRICS_CLI,
    /// which <c>make test</c> publishes; otherwise the build beside the tests.
    /// </summary>
    public static string Path =>
        Environment.GetEnvironmentVariable("AGENT_METRICS_CLI") is { Length: > 0 } published
            ? File.Exists(published) ? published : throw new MissingDependencyException($"AGENT_METRICS_CLI names {published}, which does not exist; run make publish-cli")
            : System.IO.Path.Combine(AppContext.BaseDirectory, "kubectl-agentmetrics");

    /// <summary>Runs the plugin with <paramref name="arguments"/> and <paramref name="stdin"/> as its standard input.</summary>
    public static Task<KubectlResult> RunAsync(IEnumerable<string> arguments, string? stdin = null) =>
        Command.TryRunAsync(Path, arguments, TimeSpan.FromMinutes(1), stdin: stdin);

    /// <summary>The 1-based line of <paramref name="yaml"/> that ends with the marker "# &lt;-".</summary>
    public static int MarkedLine(string yaml)
    {
        var lines = yaml.Split('\n');
        var index = Array.FindIndex(lines, l => l.TrimEnd().EndsWith("# <-", StringComparison.Ordinal));
        return index >= 0 ? index + 1 : throw new ArgumentException("the fixture marks no line with # <-");
    }

    /// <summary>A directory of this test run, removed with it.</summary>
    public static string Directory(string name) => ProcessRegistry.Current.CreateDirectory(name);
}
