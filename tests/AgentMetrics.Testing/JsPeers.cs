using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>The npm peers in tests/peers/js (OpenTelemetry JS, prom-client), run as child processes.</summary>
public static class JsPeers
{
    /// <summary>The folder holding the scripts and their node_modules.</summary>
    public static string Directory
    {
        get
        {
            var directory = RepoPaths.Combine("tests", "peers", "js");
            if (!System.IO.Directory.Exists(Path.Combine(directory, "node_modules", "@opentelemetry")))
            {
                throw new MissingDependencyException("the JavaScript peers are not installed in tests/peers/js; run `make deps` (npm ci there)");
            }

            return directory;
        }
    }

    /// <summary>Runs <c>node script args…</c> to completion (killed after <paramref name="timeout"/>); returns exit code, stdout and stderr.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string script, TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo(Tools.Node)
        {
            WorkingDirectory = Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start node {script}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"node {script} did not finish within {timeout.TotalSeconds:0}s:\n{await errors}");
        }

        return (process.ExitCode, await output, await errors);
    }
}
