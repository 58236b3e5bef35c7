namespace AgentMetrics.Sidecar.Ingest;

/// <summary>The kinds of event the JSON events API takes.</summary>
public enum EventType
{
    Task,
    LlmCall,
    ToolCall,
    Handoff,
    Escalation,
    Feedback,
    Gauge,
    Error,
    Observation,
}

/// <summary>
/// One validated event from the JSON events API. Which fields are set depends on <see cref="Type"/>;
/// the parser guarantees the ones a type needs are present and in range.
/// </summary>
public sealed class AgentEvent
{
    internal AgentEvent()
    {
    }

    /// <summary>The event's kind.</summary>
    public EventType Type { get; internal set; }

    /// <summary>The <c>type</c> field as sent (task, llm_call, …), which custom Event definitions match on.</summary>
    public string TypeName { get; internal set; } = "";

    /// <summary>Duration in seconds (task, llm_call, tool_call), from duration_seconds or end − start.</summary>
    public double? DurationSeconds { get; init; }

    public string? Outcome { get; init; }

    public string? TaskType { get; init; }

    public long? TokensIn { get; init; }

    public long? TokensOut { get; init; }

    public double? Cost { get; init; }

    public string? Model { get; init; }

    public string? Provider { get; init; }

    public string? Operation { get; init; }

    public double? TimeToFirstTokenSeconds { get; init; }

    public string? ErrorType { get; init; }

    public string? Tool { get; init; }

    public string? ToolType { get; init; }

    public string? TargetAgent { get; init; }

    public bool? ContextPreserved { get; init; }

    public string? Reason { get; init; }

    public double? Satisfaction { get; init; }

    public double? Accuracy { get; init; }

    public double? QueueDepth { get; init; }

    public double? TasksInFlight { get; init; }

    /// <summary>The custom metric an observation feeds.</summary>
    public string? Metric { get; init; }

    /// <summary>An observation's value.</summary>
    public double? Value { get; init; }

    /// <summary>Where the event sits in its request (<c>events[3].</c>), for error messages.</summary>
    public string Path => Index < 0 ? "" : $"{Batch}[{Index}].";

    /// <summary>
    /// The event's attributes, and its top-level scalar fields, which custom definitions read labels and
    /// values from. Read from the request body on first use, so only while the body is still held:
    /// most events feed no custom metric and never need them.
    /// </summary>
    public Attributes Fields => field ??= EventParser.ReadFields(Source.Span, AttributesAt);

    /// <summary>The batch the event came in: "events" for <c>{"events": [...]}</c>, "" for a bare array or a single event.</summary>
    internal string Batch { get; set; } = "";

    /// <summary>The event's index in its batch, -1 for a single event.</summary>
    internal int Index { get; set; } = -1;

    /// <summary>The event's JSON object in the request body.</summary>
    internal ReadOnlyMemory<byte> Source { get; set; }

    /// <summary>Where its attributes object starts within <see cref="Source"/>, -1 for none.</summary>
    internal int AttributesAt { get; set; } = -1;
}
