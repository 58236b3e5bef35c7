using Xunit;

namespace AgentMetrics.Testing.Tests;

public sealed class ToolsTests
{
    [Fact]
    public void AMissingProgramFailsNamingItAndWhereItComesFrom()
    {
        var error = Assert.Throws<MissingDependencyException>(
            () => Tools.OnPath("prometheus", "Debian package prometheus", "/nonexistent-a:/nonexistent-b"));

        Assert.Contains("prometheus is not on PATH", error.Message, StringComparison.Ordinal);
        Assert.Contains("Debian package prometheus", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AProgramOnPathIsFound()
    {
        Assert.Equal("/bin/sh", Tools.OnPath("sh", "the base system", "/nonexistent:/bin"));
    }
}
