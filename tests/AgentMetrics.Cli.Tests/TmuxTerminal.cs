using AgentMetrics.Testing;

namespace AgentMetrics.Cli.Tests;

/// <summary>
/// A real terminal: a tmux server of the test's own (its socket in the run directory, run in the
/// foreground so <see cref="ProcessRegistry"/> owns it and nothing outlives the run) with one window of a
/// given size running a program. When the program exits, the pane's shell says "exited CODE" and waits,
/// so the screen it left behind can still be read; the shell outlives a Ctrl-C, which only the program obeys.
/// </summary>
internal sealed class TmuxTerminal : IAsyncDisposable
{
    private const string Window = "top";
    private readonly ManagedProcess _server;
    private readonly string _socket;

    private TmuxTerminal(ManagedProcess server, string socket)
    {
        _server = server;
        _socket = socket;
    }

    /// <summary>Starts <paramref name="file"/> with <paramref name="arguments"/> in a <paramref name="width"/> x <paramref name="height"/> terminal.</summary>
    public static async Task<TmuxTerminal> StartAsync(int width, int height, string file, IEnumerable<string> arguments)
    {
        var tmux = Tools.Tmux;
        var directory = ProcessRegistry.Current.CreateDirectory("tmux");
        var socket = Path.Combine(directory, "socket");
        var server = ManagedProcess.Start("tmux", tmux, ["-S", socket, "-f", "/dev/null", "-D"], Path.Combine(directory, "tmux.log"));
        var terminal = new TmuxTerminal(server, socket);
        try
        {
            await Eventually.UntilAsync(() => Task.FromResult(File.Exists(socket)), TimeSpan.FromSeconds(10), "the tmux server's socket");
            await terminal.RunAsync(
                [
                    "new-session", "-d", "-x", $"{width}", "-y", $"{height}", "-s", Window, "--",
                    "sh", "-c", "trap : INT; \"$0\" \"$@\"; echo \"exited $?\"; exec sleep 3600", file, .. arguments,
                ]);
            return terminal;
        }
        catch
        {
            await terminal.DisposeAsync();
            throw;
        }
    }

    /// <summary>The screen as shown, with its colours and attributes as SGR escape sequences when <paramref name="escapes"/>.</summary>
    public Task<string> CaptureAsync(bool escapes = false) => RunAsync(escapes ? ["capture-pane", "-p", "-e", "-t", Window] : ["capture-pane", "-p", "-t", Window]);

    /// <summary>Types keys, in tmux's names (q, C-c, ...).</summary>
    public Task SendKeysAsync(params string[] keys) => RunAsync(["send-keys", "-t", Window, .. keys]);

    /// <summary>A tmux format of the pane, such as #{alternate_on}.</summary>
    public async Task<string> FormatAsync(string format) => (await RunAsync(["display-message", "-p", "-t", Window, format])).Trim();

    /// <summary>Captures until the screen satisfies <paramref name="condition"/>, and returns it.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, string what, TimeSpan? timeout = null, bool escapes = false)
    {
        var screen = "";
        try
        {
            await Eventually.UntilAsync(
                async () => condition(screen = await CaptureAsync(escapes)), timeout ?? TimeSpan.FromSeconds(30), what, TimeSpan.FromMilliseconds(250));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the screen was:\n{screen}", e);
        }

        return screen;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(["kill-server"]);
        }
        catch (InvalidOperationException)
        {
            // Already gone: the server is stopped below in any case.
        }

        await _server.DisposeAsync();
    }

    private Task<string> RunAsync(string[] arguments) => Command.RunAsync(Tools.Tmux, ["-S", _socket, .. arguments]);
}
