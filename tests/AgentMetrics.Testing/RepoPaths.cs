namespace AgentMetrics.Testing;

/// <summary>Locations inside the repository checkout the tests run from.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The directory holding AgentMetrics.Operator.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>A path relative to the repository root.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentMetrics.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"AgentMetrics.Operator.sln not found above {AppContext.BaseDirectory}; run the tests from the repository.");
    }
}
