using System.Text.Json;

namespace AgentMetrics.Sidecar;

/// <summary>
/// Log lines as JSON objects on standard output, one per line, in the shape container log pipelines
/// already parse: Timestamp, LogLevel, Category, Message. Information and above.
/// </summary>
public sealed class JsonLog(string category, Stream output, LogLevel minimum = LogLevel.Information) : ILogger
{
    private static readonly Lock Gate = new();

    /// <summary>A logger for <typeparamref name="T"/> writing to standard output.</summary>
    public static ILogger<T> For<T>() => new Typed<T>(new JsonLog(typeof(T).FullName ?? typeof(T).Name, Standard));

    private static Stream Standard { get; } = Console.OpenStandardOutput();

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    /// <inheritdoc />
    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        using var line = new MemoryStream();
        using (var json = new Utf8JsonWriter(line, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", DateTimeOffset.UtcNow);
            json.WriteString("LogLevel", logLevel.ToString());
            json.WriteString("Category", category);
            json.WriteString("Message", formatter(state, exception));
            if (exception is not null)
            {
                json.WriteString("Exception", exception.ToString());
            }

            json.WriteEndObject();
        }

        line.WriteByte((byte)'\n');
        lock (Gate)
        {
            output.Write(line.GetBuffer(), 0, (int)line.Length);
            output.Flush();
        }
    }

    private sealed class Typed<T>(ILogger inner) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
