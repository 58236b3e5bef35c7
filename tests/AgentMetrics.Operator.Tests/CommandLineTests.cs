using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The operator's flags, run as the built program: --help, an unknown flag, and a bad value for each
/// kind of flag, from the command line and from the environment.
/// </summary>
public sealed class CommandLineTests
{
    private static readonly string Operator = Path.Combine(AppContext.BaseDirectory, "agent-metrics-operator");

    [Fact]
    public async Task HelpListsEveryFlagWithItsVariableAndDefault()
    {
        var result = await RunAsync(["--help"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var help = string.Join(' ', result.Stdout.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
        foreach (var flag in OperatorCommandLine.Flags)
        {
            Assert.Contains(flag + " <value>", help, StringComparison.Ordinal);
            Assert.Contains($"[env: {OperatorCommandLine.EnvironmentVariable(flag)}]", help, StringComparison.Ordinal);
        }

        Assert.Contains("[env: AGENTMETRICS_SIDECAR_MODE] [default: scrape]", help, StringComparison.Ordinal);
        Assert.Contains("[env: AGENTMETRICS_OUTPUT] [default: prometheus-operator]", help, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus", "--bogus")]
    [InlineData("--output", "--output")]
    [InlineData("--output=grafana", "--output must be prometheus-operator or configmaps, got \"grafana\"")]
    [InlineData("--sidecar-mode=pull", "--sidecar-mode must be scrape or push, got \"pull\"")]
    [InlineData("--sidecar-mode=push", "--remote-write-url must be an absolute http(s) address when --sidecar-mode is push")]
    [InlineData("--native-sidecar=yes", "--native-sidecar must be auto, true or false, got \"yes\"")]
    [InlineData("--webhook-certificates=vault", "--webhook-certificates must be self or files, got \"vault\"")]
    [InlineData("--enable-agent-metrics=maybe", "--enable-agent-metrics must be true or false, got \"maybe\"")]
    [InlineData("--sidecar-push-interval=fast", "--sidecar-push-interval must be a duration")]
    [InlineData("--selector-labels=release", "--selector-labels takes key=value pairs, got \"release\"")]
    [InlineData("--sidecar-resources=cpu=1", "--sidecar-resources takes requests.<resource>=<quantity>")]
    [InlineData("--remote-write-headers=X Tenant", "--remote-write-headers takes Name=value pairs")]
    [InlineData("--listen=http://0.0.0.0:9443", "--listen must be an https:// address")]
    [InlineData("--kubeconfig=/nonexistent/kubeconfig", "--kubeconfig must name a file that exists, got \"/nonexistent/kubeconfig\"")]
    [InlineData("--kubeconfig=/etc/hostname", "kubeconfig: the document is not a mapping")]
    public async Task AnUnknownFlagOrABadValueEndsWithExitCode2AndOneLineNamingIt(string argument, string expected)
    {
        var result = await RunAsync([argument]);

        AssertRefused(result, expected);
    }

    [Fact]
    public async Task AContextTheKubeconfigLacksEndsWithExitCode2AndOneLineNamingIt()
    {
        var kubeconfig = Path.Combine(ProcessRegistry.Current.CreateDirectory("operator-context"), "kubeconfig");
        File.WriteAllText(kubeconfig, KubeconfigWriter.ForToken(new Uri("https://127.0.0.1:6443"), "", "token"));

        var result = await RunAsync([$"--kubeconfig={kubeconfig}", "--context=production"]);

        AssertRefused(result, "kubeconfig: contexts has no entry named production");
    }

    [Fact]
    public async Task ABadValueFromTheEnvironmentIsRefusedNamingTheVariable()
    {
        var result = await RunAsync([], new() { ["AGENTMETRICS_NATIVE_SIDECAR"] = "yes" });

        AssertRefused(result, "--native-sidecar must be auto, true or false, got \"yes\" (from AGENTMETRICS_NATIVE_SIDECAR)");
    }

    [Fact]
    public void AFlagWinsOverTheEnvironmentAndTheEarlierVariableNamesAreStillRead()
    {
        var environment = new Dictionary<string, string>
        {
            ["AGENTMETRICS_SIDECAR_MODE"] = "pull",
            ["AGENTMETRICS_SIDECARIMAGE"] = "registry.example/sidecar:1",
            ["AGENTMETRICS_IDENTITY"] = "operator-0",
            ["AGENTMETRICS_EXCLUDED_NAMESPACES"] = "",
        };

        var settings = OperatorCommandLine.Parse(
            ["--sidecar-mode=scrape", "--output", "configmaps"], name => environment.GetValueOrDefault(name), TextWriter.Null, TextWriter.Null, out var exitCode);

        Assert.Equal(0, exitCode);
        Assert.NotNull(settings);
        Assert.Equal("scrape", settings.SidecarMode);
        Assert.Equal("configmaps", settings.Output);
        Assert.Equal("registry.example/sidecar:1", settings.SidecarImage);
        Assert.Equal("operator-0", settings.Identity);
        Assert.Equal(new OperatorSettings().ExcludedNamespaces, settings.ExcludedNamespaces);
    }

    [Fact]
    public void TheInjectionDocumentListsEveryFlag()
    {
        var document = File.ReadAllText(RepoPaths.Combine("docs", "injection.md"));

        var missing = OperatorCommandLine.Flags.Where(flag => !document.Contains($"| `{flag}` |", StringComparison.Ordinal)).ToList();

        Assert.True(missing.Count == 0, $"docs/injection.md's flag table lacks {string.Join(", ", missing)}");
    }

    private static void AssertRefused(KubectlResult result, string expected)
    {
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Stdout);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got:\n{result.Stderr}");
        Assert.StartsWith("agent-metrics-operator: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    /// <summary>Runs the operator with no AGENTMETRICS_ variable of this process's environment, plus <paramref name="environment"/>.</summary>
    private static Task<KubectlResult> RunAsync(string[] arguments, Dictionary<string, string?>? environment = null)
    {
        var variables = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(name => name.StartsWith("AGENTMETRICS_", StringComparison.Ordinal))
            .ToDictionary(name => name, string? (_) => null);
        foreach (var (name, value) in environment ?? [])
        {
            variables[name] = value;
        }

        return Command.TryRunAsync(Operator, arguments, TimeSpan.FromSeconds(30), variables);
    }
}
