using AgentMetrics.Testing;

namespace AgentMetrics.Cli.Tests;

/// <summary>Runs the built plugin, as kubectl would, and finds the line a YAML fixture marks.</summary>
internal static class Plugin
{
    /// <summary>The built program, beside the tests.</summary>
    public static readonly string Path = System.IO.Path.Combine(AppContext.BaseDirectory, "kubectl-agentmetrics");

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
