namespace AgentMetrics.Cli.Manifests;

/// <summary>Reads the objects of FILE, DIR (its .yaml, .yml and .json files, recursively, in name order) or - (standard input).</summary>
public static class ManifestSource
{
    /// <summary>What standard input is called in messages.</summary>
    public const string StandardInput = "<stdin>";

    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    /// <summary>Every object of every path, in order; unreadable input throws a <see cref="ManifestException"/>.</summary>
    public static IReadOnlyList<Manifest> Read(IEnumerable<string> paths, TextReader stdin)
    {
        var manifests = new List<Manifest>();
        foreach (var path in paths)
        {
            if (path == "-")
            {
                manifests.AddRange(ManifestParser.Parse(StandardInput, stdin.ReadToEnd()));
            }
            else if (Directory.Exists(path))
            {
                var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal);
                foreach (var file in files)
                {
                    manifests.AddRange(ManifestParser.Parse(file, ReadFile(file)));
                }
            }
            else
            {
                manifests.AddRange(ManifestParser.Parse(path, ReadFile(path)));
            }
        }

        return manifests;
    }

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ManifestException($"{path}: cannot be read: {(e is FileNotFoundException or DirectoryNotFoundException ? "no such file or directory" : e.Message)}");
        }
    }
}
