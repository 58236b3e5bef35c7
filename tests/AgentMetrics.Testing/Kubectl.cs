using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>The outcome of one kubectl call.</summary>
public sealed record KubectlResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs the real kubectl against a kubeconfig.</summary>
public sealed class Kubectl(string kubeconfigPath)
{
    /// <summary>The kubeconfig every call uses.</summary>
    public string KubeconfigPath { get; } = kubeconfigPath;

    /// <summary>Runs kubectl and returns its stdout; a non-zero exit throws with stderr.</summary>
    public async Task<string> RunAsync(params string[] arguments)
    {
        var result = await TryRunAsync(null, arguments);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException(
                $"kubectl {string.Join(' ', arguments)} exited {result.ExitCode}: {result.Stderr.Trim()}");
    }

    /// <summary>Runs kubectl with <paramref name="stdin"/> as its input (for <c>-f -</c>).</summary>
    public async Task<string> RunWithInputAsync(string stdin, params string[] arguments)
    {
        var result = await TryRunAsync(stdin, arguments);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException(
                $"kubectl {string.Join(' ', arguments)} exited {result.ExitCode}: {result.Stderr.Trim()}");
    }

    /// <summary>Runs kubectl and returns exit code, stdout and stderr, whatever the outcome.</summary>
    public async Task<KubectlResult> TryRunAsync(string? stdin, params string[] arguments)
    {
        var info = new ProcessStartInfo(Tools.Kubectl)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add("--kubeconfig");
        info.ArgumentList.Add(KubeconfigPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start kubectl");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"kubectl {string.Join(' ', arguments)} did not finish within a minute");
        }

        return new KubectlResult(process.ExitCode, await stdout, await stderr);
    }
}
