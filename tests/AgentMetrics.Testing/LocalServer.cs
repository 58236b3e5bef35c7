using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>
/// A real server binary started for the tests, with a readiness probe. It can be stopped and
/// started again on the same ports and data, so tests can take it away from a client under test.
/// </summary>
public abstract class LocalServer : IAsyncDisposable
{
    private static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Sets the server's name and the directory for its data and log.</summary>
    protected LocalServer(string name, string directory)
    {
        Name = name;
        Directory = directory;
    }

    /// <summary>A short name for logs and errors.</summary>
    public string Name { get; }

    /// <summary>The directory holding this server's data, configuration and log.</summary>
    public string Directory { get; }

    /// <summary>The running process, or null while stopped.</summary>
    public ManagedProcess? Process { get; private set; }

    /// <summary>The binary to run.</summary>
    protected abstract string FileName { get; }

    /// <summary>Its command line.</summary>
    protected abstract IEnumerable<string> Arguments { get; }

    /// <summary>One readiness probe; a connection error counts as "not yet".</summary>
    protected abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>Starts the process and waits until it is ready; fails with its log if it exits or never gets ready.</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        if (Process is not null)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }

        var process = ManagedProcess.Start(Name, FileName, Arguments, Path.Combine(Directory, $"{Name}.log"));
        Process = process;
        var limit = timeout ?? DefaultStartTimeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                Process = null;
                throw new InvalidOperationException($"{Name} exited during start-up; its last log lines:\n{process.LogTail()}");
            }

            try
            {
                using var probeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                if (await IsReadyAsync(probeTimeout.Token))
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > limit)
            {
                await process.DisposeAsync();
                Process = null;
                throw new TimeoutException(
                    $"{Name} was not ready after {limit.TotalSeconds:0}s; its last log lines:\n{process.LogTail()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Stops the process (SIGTERM, then SIGKILL after a grace period); its data stays.</summary>
    public async Task StopAsync()
    {
        if (Process is { } process)
        {
            Process = null;
            await process.DisposeAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>True when GET <paramref name="url"/> answers 2xx.</summary>
    protected static async Task<bool> AnswersOkAsync(HttpClient http, Uri url, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(url, cancellationToken);
        return response.IsSuccessStatusCode;
    }
}
