using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>Runs a short-lived program (ip, ctr, reap.sh, a CLI under test) to completion and reports what it printed.</summary>
public static class Command
{
    /// <summary>
    /// Runs <paramref name="file"/> and returns its exit code and output, whatever the outcome; a program
    /// still running after <paramref name="timeout"/> is killed. <paramref name="environment"/> sets
    /// (or, with a null value, removes) variables of the inherited environment; <paramref name="stdin"/>
    /// is its standard input (empty when null).
    /// </summary>
    public static async Task<KubectlResult> TryRunAsync(
        string file, IEnumerable<string> arguments, TimeSpan? timeout = null, IReadOnlyDictionary<string, string?>? environment = null,
        string? stdin = null)
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

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
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
