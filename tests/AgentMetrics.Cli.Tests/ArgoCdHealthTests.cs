using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Operator.Reconcilers;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// The Argo CD health checks in config/argocd, run by the real Lua 5.1 interpreter (the language Argo CD
/// runs them in) against the status fixtures their health_test.yaml lists, in Argo CD's own layout; every
/// reason the operator can set is among the fixtures, and the README's argocd-cm snippet is the script.
/// </summary>
public sealed class ArgoCdHealthTests
{
    private static readonly string[] Kinds = ["AgentMetricDefinition", "AlertThreshold"];

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var kind in Kinds)
        {
            foreach (var test in Tests(kind))
            {
                cases.Add(kind, (string)test["inputPath"]!);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task TheHealthCheckAnswersAsTheFixtureSays(string kind, string inputPath)
    {
        var test = Tests(kind).Single(t => (string)t["inputPath"]! == inputPath);
        var fixture = YamlJson.Parse(File.ReadAllText(Path.Combine(Directory(kind), inputPath)))!;

        var (status, message) = await RunAsync(Path.Combine(Directory(kind), "health.lua"), fixture);

        Assert.Equal(((string)test["healthStatus"]!["status"]!, (string)test["healthStatus"]!["message"]!), (status, message));
    }

    [Fact]
    public void EveryReasonTheOperatorSetsHasAFixture()
    {
        var reasons = typeof(Conditions).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && (string)f.GetRawConstantValue()! != Conditions.Ready)
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();
        var covered = Kinds.SelectMany(kind => Tests(kind).Select(t =>
                YamlJson.Parse(File.ReadAllText(Path.Combine(Directory(kind), (string)t["inputPath"]!)))!["status"]?["conditions"]?[0]?["reason"])
            .Where(r => r is not null).Select(r => (string)r!)).ToHashSet();

        var missing = reasons.Except(covered).ToList();
        Assert.True(missing.Count == 0, $"no fixture in config/argocd has reason {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData("AgentMetricDefinition")]
    [InlineData("AlertThreshold")]
    public void TheReadmesArgoCdSnippetIsTheScript(string kind)
    {
        var readme = File.ReadAllText(RepoPaths.Combine("README.md"));
        var key = $"  resource.customizations.health.agentmetrics.io_{kind}: |\n";
        var start = readme.IndexOf(key, StringComparison.Ordinal);
        Assert.True(start >= 0, $"README.md has no {key.Trim()}");
        var lines = readme[(start + key.Length)..].Split('\n').TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal) || l.Length == 0);
        var snippet = string.Join('\n', lines.Select(l => l.Length == 0 ? l : l[4..])).TrimEnd() + "\n";

        Assert.Equal(File.ReadAllText(Path.Combine(Directory(kind), "health.lua")), snippet);
    }

    private static string Directory(string kind) => RepoPaths.Combine("config", "argocd", "agentmetrics.io", kind);

    private static IEnumerable<JsonNode> Tests(string kind) =>
        YamlJson.Parse(File.ReadAllText(Path.Combine(Directory(kind), "health_test.yaml")))!["tests"]!.AsArray().Select(t => t!);

    /// <summary>Runs <paramref name="script"/> as Argo CD does: the object in the global obj, the script's result the health.</summary>
    private static async Task<(string Status, string Message)> RunAsync(string script, JsonNode obj)
    {
        var driver = new StringBuilder();
        driver.Append("obj = ").Append(Lua(obj)).Append('\n');
        driver.Append("local hs = dofile(").Append(Lua(JsonValue.Create(script))).Append(")\n");
        driver.Append("io.write(hs.status, \"\\n\", hs.message or \"\")\n");
        var file = Path.Combine(ProcessRegistry.Current.CreateDirectory("lua"), "driver.lua");
        await File.WriteAllTextAsync(file, driver.ToString());

        var result = await Command.TryRunAsync(Tools.Lua, [file], TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.Stderr);
        var parts = result.Stdout.Split('\n', 2);
        return (parts[0], parts.Length > 1 ? parts[1] : "");
    }

    /// <summary>A JSON value as a Lua 5.1 literal: objects and arrays as tables, null as nil.</summary>
    private static string Lua(JsonNode? node) => node switch
    {
        null => "nil",
        JsonObject json => "{" + string.Concat(json.Where(p => p.Value is not null).Select(p => $"[{Lua(JsonValue.Create(p.Key))}] = {Lua(p.Value)}, ")) + "}",
        JsonArray array => "{" + string.Concat(array.Select(item => Lua(item) + ", ")) + "}",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => "\"" + value.GetValue<string>().Replace("\\", "\\\\", StringComparison.Ordinal)
                .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetValue<double>().ToString("R", CultureInfo.InvariantCulture),
        },
        _ => throw new ArgumentException($"unexpected JSON node {node}"),
    };
}
