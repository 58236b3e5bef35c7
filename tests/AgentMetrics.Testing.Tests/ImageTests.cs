using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>
/// The images <c>make images</c> builds without Docker are what the Dockerfiles describe: the same
/// user, entrypoint and working directory, and in /app exactly the files of the same publish.
/// </summary>
public sealed partial class ImageTests
{
    public static TheoryData<string, string, string> Images => new()
    {
        // Dockerfile, OCI archive, the folder make publishes the program to.
        { "src/Sidecar/Dockerfile", "agent-metrics-sidecar.tar", "artifacts/sidecar" },
        { "src/Operator/Dockerfile", "agent-metrics-operator.tar", "artifacts/operator" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void AnImageBuiltWithoutDockerIsWhatItsDockerfileDescribes(string dockerfile, string archive, string folder)
    {
        var described = Dockerfile.Parse(File.ReadAllText(RepoPaths.Combine(dockerfile)));
        var project = PublishedProject().Match(described.Publish);
        Assert.True(project.Success, $"{dockerfile} publishes with `{described.Publish}`");

        // make publishes the same project the same way (configuration and runtime) as the Dockerfile.
        Assert.Contains(File.ReadAllLines(RepoPaths.Combine("Makefile")), line =>
            line.Contains($"dotnet publish {project.Groups["project"].Value} -c Release -r linux-x64 ", StringComparison.Ordinal)
            && line.TrimEnd().EndsWith($" -o {folder}", StringComparison.Ordinal));
        var published = RepoPaths.Combine(folder);

        var scratch = Directory.CreateTempSubdirectory("agent-metrics-image-");
        try
        {
            TarFile.ExtractToDirectory(Path.Combine(Tools.ImageDirectory, archive), scratch.FullName, overwriteFiles: false);
            var image = OciImage.Read(scratch.FullName);
            Assert.Equal(described.User, image.User);
            Assert.Equal(described.Entrypoint, image.Entrypoint);
            Assert.Equal(described.WorkingDirectory, image.WorkingDirectory);
            Assert.Equal(("/out", "."), described.CopiedFromBuild);

            var expected = Directory.EnumerateFiles(published, "*", SearchOption.AllDirectories)
                .ToDictionary(path => Path.GetRelativePath(published, path), Digest, StringComparer.Ordinal);
            var actual = image.Files
                .Where(file => file.Key.StartsWith(described.WorkingDirectory.TrimStart('/') + "/", StringComparison.Ordinal))
                .ToDictionary(file => file.Key[(described.WorkingDirectory.Length)..], file => file.Value, StringComparer.Ordinal);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
            Assert.All(expected, file => Assert.True(actual[file.Key] == file.Value, $"{file.Key} differs from the published one"));
            Assert.Contains(described.Entrypoint[0].TrimStart('/'), image.Executables);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static string Digest(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }

    [GeneratedRegex(@"^dotnet publish (?<project>\S+) -c Release -r linux-x64 -o /out$")]
    private static partial Regex PublishedProject();

    /// <summary>What the final stage of a two-stage .NET Dockerfile says, and how its build stage publishes.</summary>
    private sealed record Dockerfile(string Publish, (string From, string To) CopiedFromBuild, string WorkingDirectory, string User, string[] Entrypoint)
    {
        public static Dockerfile Parse(string text)
        {
            var stages = new List<List<(string Instruction, string Argument)>>();
            foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
            {
                var (instruction, argument) = (line.Split(' ', 2)[0], line.Split(' ', 2)[1]);
                if (instruction == "FROM")
                {
                    stages.Add([]);
                }

                stages[^1].Add((instruction, argument));
            }

            Assert.Equal(2, stages.Count);
            string Last(string instruction) => stages[1].Last(i => i.Instruction == instruction).Argument;
            var copy = Last("COPY").Split(' ');
            Assert.Equal("--from=build", copy[0]);
            return new Dockerfile(
                stages[0].Single(i => i.Instruction == "RUN" && i.Argument.StartsWith("dotnet publish ", StringComparison.Ordinal)).Argument,
                (copy[1], copy[2]),
                Last("WORKDIR"),
                Last("USER"),
                JsonSerializer.Deserialize<string[]>(Last("ENTRYPOINT"))!);
        }
    }

    /// <summary>An OCI image layout of one single-layer image: its config and its files' digests.</summary>
    private sealed record OciImage(string User, string[] Entrypoint, string WorkingDirectory, Dictionary<string, string> Files, HashSet<string> Executables)
    {
        public static OciImage Read(string layout)
        {
            string Blob(string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);
            using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(layout, "index.json")));
            var manifestDigest = index.RootElement.GetProperty("manifests").EnumerateArray().Single().GetProperty("digest").GetString()!;
            using var manifest = JsonDocument.Parse(File.ReadAllText(Blob(manifestDigest)));
            using var config = JsonDocument.Parse(File.ReadAllText(Blob(manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!)));
            var run = config.RootElement.GetProperty("config");

            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            var executables = new HashSet<string>(StringComparer.Ordinal);
            using var layer = File.OpenRead(Blob(manifest.RootElement.GetProperty("layers").EnumerateArray().Single().GetProperty("digest").GetString()!));
            using var reader = new TarReader(layer);
            while (reader.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name[2..] : entry.Name;
                files[name] = Convert.ToHexString(SHA256.HashData(entry.DataStream));
                if ((entry.Mode & UnixFileMode.UserExecute) != 0)
                {
                    executables.Add(name);
                }
            }

            return new OciImage(
                run.GetProperty("User").GetString()!,
                run.GetProperty("Entrypoint").Deserialize<string[]>()!,
                run.GetProperty("WorkingDir").GetString()!,
                files,
                executables);
        }
    }
}
