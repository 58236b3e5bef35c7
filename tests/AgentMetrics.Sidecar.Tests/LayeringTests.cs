using System.Text.RegularExpressions;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>The sidecar's layers point one way: the metric store depends on nothing else in the sidecar; inputs and outputs depend on it.</summary>
public partial class LayeringTests
{
    [Fact]
    public void The_metric_store_names_no_other_part_of_the_sidecar()
    {
        var folder = RepoPaths.Combine("src", "Sidecar", "Metrics");
        var offending = Directory.EnumerateFiles(folder, "*.cs")
            .SelectMany(file => OtherSidecarNamespace().Matches(File.ReadAllText(file)).Select(m => $"{Path.GetFileName(file)}: {m.Value}"))
            .ToList();

        Assert.NotEmpty(Directory.EnumerateFiles(folder, "*.cs"));
        Assert.Empty(offending);
    }

    [GeneratedRegex(@"AgentMetrics\.Sidecar\.(?!Metrics\b)\w+")]
    private static partial Regex OtherSidecarNamespace();
}
