using System.Runtime.InteropServices;
using System.Text;
using AgentMetrics.Cli.Prometheus;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// Runs <c>top</c>: one frame (--once), frames one after another as plain text when the output is not a
/// terminal, or a live view on the terminal's alternate screen, redrawn every interval and on a key, with
/// the terminal given back as it was on q, Ctrl-C, SIGTERM or SIGHUP.
/// </summary>
internal sealed class TopScreen(TopSource source, TextWriter output, TextWriter error, TimeSpan interval, int? rows)
{
    /// <summary>Columns and rows assumed when the output is not a terminal.</summary>
    public const int PlainWidth = 160;

    /// <summary>Rows shown when the output is not a terminal and --rows is not given.</summary>
    public const int PlainRows = 50;

    // Alternate screen and hidden cursor on; on leaving, styles reset, cursor shown, main screen back.
    private const string Enter = "\e[?1049h\e[?25l\e[H\e[2J";
    private const string Leave = "\e[0m\e[?25h\e[?1049l";

    // Lines of a frame that are not agent rows: title, fleet, status, blank, headings, footer.
    private const int Chrome = 6;

    private readonly Lock _lock = new();
    private TopView _view = null!;
    private CancellationTokenSource _wake = new();

    /// <summary>One frame; 1 when Prometheus gave no answer (the reason on stderr).</summary>
    public async Task<int> OnceAsync(TopView view, bool styled)
    {
        try
        {
            var snapshot = await source.ReadAsync(view, rows ?? PlainRows, SparkPoints(PlainWidth), CancellationToken.None);
            Write(TopFrame.Render(snapshot, null, view, source.Description, interval, PlainWidth, styled, keys: false));
            return 0;
        }
        catch (PrometheusException e)
        {
            error.WriteLine($"{CliCommandLine.Program}: {e.Message}");
            return 1;
        }
    }

    /// <summary>Frames until a signal: on a terminal, live on the alternate screen; otherwise printed one after another.</summary>
    public async Task<int> RunAsync(TopView view, bool terminal)
    {
        _view = view;
        using var stop = new CancellationTokenSource();
        var exitCode = 0;
        void Quit(int code)
        {
            exitCode = code;
            stop.Cancel();
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; Quit(0); });
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Quit(143); });
        using var hangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; Quit(129); });
        // A resized terminal is redrawn at once (there is no SIGWINCH on Windows; it is redrawn at the next refresh).
        using var resize = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, c => { c.Cancel = true; Wake(); });
        Thread? keys = null;
        if (terminal)
        {
            output.Write(Enter);
            output.Flush();
            if (!Console.IsInputRedirected)
            {
                keys = new Thread(() => ReadKeys(stop.Token, () => Quit(0))) { IsBackground = true, Name = "top keys" };
                keys.Start();
            }
        }

        try
        {
            TopSnapshot? last = null;
            while (!stop.IsCancellationRequested)
            {
                var started = DateTimeOffset.UtcNow;
                var current = View;
                var (width, height) = terminal ? Size() : (PlainWidth, 0);
                var shown = rows ?? (terminal ? Math.Max(1, height - Chrome) : PlainRows);
                string? problem = null;
                try
                {
                    last = await source.ReadAsync(current, shown, SparkPoints(width), stop.Token);
                }
                catch (PrometheusException e)
                {
                    problem = e.Message;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }

                var frame = TopFrame.Render(last, problem, current, source.Description, interval, width, styled: terminal, keys: keys is not null);
                if (terminal)
                {
                    Draw(frame, height);
                }
                else if (problem is not null)
                {
                    error.WriteLine($"{CliCommandLine.Program}: {problem}; retrying every {interval.TotalSeconds:0.###}s");
                }
                else
                {
                    Write(frame);
                    output.WriteLine();
                }

                await SleepAsync(interval - (DateTimeOffset.UtcNow - started), stop.Token);
            }
        }
        finally
        {
            if (terminal)
            {
                try
                {
                    output.Write(Leave);
                    output.Flush();
                }
                catch (IOException)
                {
                    // The terminal is gone (SIGHUP): there is nothing left to restore.
                }
            }
        }

        return exitCode;
    }

    private TopView View
    {
        get
        {
            lock (_lock)
            {
                return _view;
            }
        }
    }

    /// <summary>How many sparkline points fit beside the columns with names at their narrowest; <see cref="TopFrame"/> merges them when names take more.</summary>
    private static int SparkPoints(int width) =>
        Math.Clamp(width - TopFrame.FixedWidth(TopFrame.NamespaceWidths.Min, TopFrame.AgentWidths.Min) - 1, 8, 60);

    private static (int Width, int Height) Size()
    {
        try
        {
            return (Math.Max(40, Console.WindowWidth), Math.Max(Chrome + 1, Console.WindowHeight));
        }
        catch (IOException)
        {
            return (80, 24);
        }
    }

    /// <summary>
    /// Draws the frame from the top-left corner, in one write: each line cleared before it is written (a line
    /// as wide as the screen leaves the cursor on its last character, which clearing after it would erase),
    /// then every line below the frame.
    /// </summary>
    private void Draw(List<string> frame, int height)
    {
        var screen = new StringBuilder();
        var lines = Math.Min(frame.Count, height);
        for (var i = 0; i < lines; i++)
        {
            screen.Append("\e[").Append(i + 1).Append(";1H\e[2K").Append(frame[i]);
        }

        if (lines < height)
        {
            screen.Append("\e[").Append(lines + 1).Append(";1H\e[J");
        }

        output.Write(screen.ToString());
        output.Flush();
    }

    private void Write(List<string> frame)
    {
        output.Write(string.Join('\n', frame) + "\n");
        output.Flush();
    }

    /// <summary>q quits; s or &gt; sorts by the next column, &lt; by the previous one; r reverses the order. Each redraws at once.</summary>
    private void ReadKeys(CancellationToken stop, Action quit)
    {
        while (!stop.IsCancellationRequested)
        {
            if (!Console.KeyAvailable)
            {
                Thread.Sleep(50);
                continue;
            }

            var key = Console.ReadKey(intercept: true).KeyChar;
            if (key is 'q' or 'Q')
            {
                quit();
                return;
            }

            lock (_lock)
            {
                var index = TopColumn.All.ToList().IndexOf(_view.Sort);
                _view = key switch
                {
                    's' or '>' => _view with { Sort = TopColumn.All[(index + 1) % TopColumn.All.Count], Reversed = false },
                    '<' => _view with { Sort = TopColumn.All[(index + TopColumn.All.Count - 1) % TopColumn.All.Count], Reversed = false },
                    'r' or 'R' => _view with { Reversed = !_view.Reversed },
                    _ => _view,
                };
            }

            Wake();
        }
    }

    private void Wake()
    {
        lock (_lock)
        {
            _wake.Cancel();
        }
    }

    private async Task SleepAsync(TimeSpan delay, CancellationToken stop)
    {
        CancellationTokenSource wake;
        lock (_lock)
        {
            if (_wake.IsCancellationRequested)
            {
                _wake.Dispose();
                _wake = new CancellationTokenSource();
                return;
            }

            wake = _wake;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, wake.Token);
        try
        {
            await Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero, either.Token);
        }
        catch (OperationCanceledException)
        {
            // Stopped, or woken by a key or a resize: the loop decides which.
        }

        lock (_lock)
        {
            if (_wake == wake && wake.IsCancellationRequested)
            {
                _wake.Dispose();
                _wake = new CancellationTokenSource();
            }
        }
    }
}
