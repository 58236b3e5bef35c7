namespace AgentMetrics.Testing;

/// <summary>
/// Compares generated text with a file committed in the repository. With
/// AGENT_METRICS_UPDATE_GOLDEN=1 (`make golden`) it rewrites the file instead, so a change to a
/// renderer shows up as a diff in review.
/// </summary>
public static class Golden
{
    /// <summary>Fails unless <paramref name="actual"/> equals the repository file at <paramref name="repoPath"/>.</summary>
    public static void AssertMatches(string repoPath, string actual)
    {
        var path = RepoPaths.Combine(repoPath.Split('/'));
        if (Environment.GetEnvironmentVariable("AGENT_METRICS_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }

        var expected = File.Exists(path) ? File.ReadAllText(path) : null;
        if (expected != actual)
        {
            throw new GoldenMismatchException(expected is null
                ? $"{repoPath} does not exist; run `make golden` to write it"
                : $"{repoPath} is stale; run `make golden` and review the diff. First difference at character {FirstDifference(expected, actual)}.");
        }
    }

    private static int FirstDifference(string a, string b)
    {
        var i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i])
        {
            i++;
        }

        return i;
    }
}

/// <summary>Generated output differs from its committed golden file.</summary>
public sealed class GoldenMismatchException(string message) : Exception(message);
