using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>Runs a short-lived tool (ip, ctr, reap.sh) to completion and reports what it printed.</summary>
internal static class Command
{
    /// <summary>Runs <paramref name="file"/> and returns its exit code and output, whatever the outcome.</summary>
    public static async Task<KubectlResult> TryRunAsync(string file, IEnumerable<string> arguments, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish in time");
        }

        return new KubectlResult(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs <paramref name="file"/> and returns its stdout; a non-zero exit throws with stderr.</summary>
    public static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var result = await TryRunAsync(file, arguments);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited {result.ExitCode}: {(result.Stderr + result.Stdout).Trim()}");
    }
}
