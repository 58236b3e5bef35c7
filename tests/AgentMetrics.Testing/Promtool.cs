using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>Runs the real promtool.</summary>
public static class Promtool
{
    /// <summary>Runs promtool in <paramref name="workingDirectory"/>, with <paramref name="stdin"/> as its input when given.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, string? stdin, params string[] arguments)
    {
        var info = new ProcessStartInfo(Tools.Promtool)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await stdout + await stderr);
    }
}
