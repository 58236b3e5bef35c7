using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar.Ingest;

/// <summary>
/// Turns agent events and GenAI spans into the standard agent metrics and the custom metrics in
/// effect. Every label value passes the length cap; limits drop and count, never throw.
/// </summary>
public sealed class AgentRecorder
{
    private readonly MetricRegistry _registry;
    private readonly CustomMetrics _custom;
    private readonly MetricFamily _tasks;
    private readonly MetricFamily _taskDuration;
    private readonly MetricFamily _taskTokens;
    private readonly MetricFamily _taskCost;
    private readonly MetricFamily _errors;
    private readonly MetricFamily _handoffs;
    private readonly MetricFamily _escalations;
    private readonly MetricFamily _satisfaction;
    private readonly MetricFamily _accuracy;
    private readonly MetricFamily _inFlight;
    private readonly MetricFamily _queue;
    private readonly MetricFamily _operationDuration;
    private readonly MetricFamily _tokenUsage;
    private readonly MetricFamily _timeToFirstChunk;
    private readonly MetricFamily _invokeAgent;
    private readonly MetricFamily _executeTool;
    private readonly MetricFamily _invokeWorkflow;
    private readonly MetricFamily _inputTokens;
    private readonly MetricFamily _outputTokens;

    /// <summary>Creates a recorder over <paramref name="registry"/>, defining the built-in families.</summary>
    public AgentRecorder(MetricRegistry registry, CustomMetrics custom)
    {
        _registry = registry;
        _custom = custom;
        registry.DefineBuiltIns();
        _tasks = BuiltIn(BuiltInMetrics.Tasks);
        _taskDuration = BuiltIn(BuiltInMetrics.TaskDuration);
        _taskTokens = BuiltIn(BuiltInMetrics.TaskTokens);
        _taskCost = BuiltIn(BuiltInMetrics.TaskCost);
        _errors = BuiltIn(BuiltInMetrics.Errors);
        _handoffs = BuiltIn(BuiltInMetrics.Handoffs);
        _escalations = BuiltIn(BuiltInMetrics.Escalations);
        _satisfaction = BuiltIn(BuiltInMetrics.Satisfaction);
        _accuracy = BuiltIn(BuiltInMetrics.Accuracy);
        _inFlight = BuiltIn(BuiltInMetrics.TasksInFlight);
        _queue = BuiltIn(BuiltInMetrics.QueueDepth);
        _operationDuration = BuiltIn(BuiltInMetrics.OperationDuration);
        _tokenUsage = BuiltIn(BuiltInMetrics.TokenUsage);
        _timeToFirstChunk = BuiltIn(BuiltInMetrics.TimeToFirstChunk);
        _invokeAgent = BuiltIn(BuiltInMetrics.InvokeAgentDuration);
        _executeTool = BuiltIn(BuiltInMetrics.ExecuteToolDuration);
        _invokeWorkflow = BuiltIn(BuiltInMetrics.InvokeWorkflowDuration);
        _inputTokens = BuiltIn(BuiltInMetrics.InputTokens);
        _outputTokens = BuiltIn(BuiltInMetrics.OutputTokens);
    }

    /// <summary>
    /// The errors for observations of custom metrics no definition in effect declares; the request
    /// is refused whole when there is any, and each such observation is counted.
    /// </summary>
    public List<IngestError> CheckObservations(IReadOnlyList<AgentEvent> events)
    {
        var errors = new List<IngestError>();
        var set = _custom.Current;
        foreach (var e in events)
        {
            if (e.Type == EventType.Observation && set.ForEvent(e.Metric!).Length == 0)
            {
                _registry.CountDrop(DropReason.UndefinedMetric);
                errors.Add(new(e.Path + "metric", $"no AgentMetricDefinition selecting this pod declares an Event source named \"{ClientText.Clip(e.Metric)}\""));
            }
        }

        return errors;
    }

    /// <summary>Records one validated event.</summary>
    public void Record(AgentEvent e)
    {
        switch (e.Type)
        {
            case EventType.Task:
                RecordTask(e.Outcome!, e.TaskType, e.DurationSeconds, e.TokensIn, e.TokensOut, e.Model, e.Cost);
                break;
            case EventType.LlmCall:
                RecordModelCall(e.Operation ?? "chat", e.Provider, e.Model, e.ErrorType, e.DurationSeconds, e.TokensIn, e.TokensOut, e.TimeToFirstTokenSeconds);
                break;
            case EventType.ToolCall:
                RecordTool(e.Tool, e.ToolType ?? "function", e.ErrorType, e.DurationSeconds);
                break;
            case EventType.Handoff:
                Add(_handoffs, [Cap(e.Outcome), Cap(e.TargetAgent), e.ContextPreserved is { } kept ? (kept ? "true" : "false") : ""], 1);
                break;
            case EventType.Escalation:
                Add(_escalations, [Cap(e.Reason)], 1);
                break;
            case EventType.Feedback:
                var taskType = Cap(e.TaskType);
                if (e.Satisfaction is { } satisfaction)
                {
                    _satisfaction.GetOrAdd([taskType])?.Observe(satisfaction);
                }

                if (e.Accuracy is { } accuracy)
                {
                    _accuracy.GetOrAdd([taskType])?.Observe(accuracy);
                }

                break;
            case EventType.Gauge:
                if (e.QueueDepth is { } depth)
                {
                    _queue.GetOrAdd([])?.Set(depth);
                }

                if (e.TasksInFlight is { } inFlight)
                {
                    _inFlight.GetOrAdd([])?.Set(inFlight);
                }

                break;
            case EventType.Error:
                Add(_errors, [Cap(e.ErrorType)], 1);
                break;
        }

        var feeds = _custom.Current.ForEvent(e.Type == EventType.Observation ? e.Metric! : e.TypeName);
        foreach (var metric in feeds)
        {
            RecordCustom(metric, e.Fields, null, e.Value ?? 1);
        }
    }

    /// <summary>Records one span: GenAI operations feed the standard metrics, and any span can feed custom ones.</summary>
    public void Record(OtlpSpan span, Attributes resource)
    {
        var attributes = span.Attributes;
        var operation = attributes.Text("gen_ai.operation.name");
        var errorType = attributes.Text("error.type");
        if (errorType.Length == 0 && span.StatusCode == OtlpSpan.StatusError)
        {
            // The conventions' fallback when an operation failed without a more specific type.
            errorType = "_OTHER";
        }

        var duration = span.DurationSeconds;
        var model = attributes.Text("gen_ai.request.model", attributes.Text("gen_ai.response.model"));
        var tokensIn = Whole(attributes, "gen_ai.usage.input_tokens");
        var tokensOut = Whole(attributes, "gen_ai.usage.output_tokens");
        switch (operation)
        {
            case "":
            case "create_agent":
                break;
            case "invoke_agent":
                _invokeAgent.GetOrAdd([Cap(model), Cap(errorType)])?.Observe(duration);
                var outcome = errorType.Length == 0 ? "success" : errorType.Contains("timeout", StringComparison.OrdinalIgnoreCase) ? "timeout" : "failure";
                RecordTask(outcome, attributes.Text("agent.task.type"), duration, tokensIn, tokensOut, model, null);
                break;
            case "execute_tool":
                RecordTool(attributes.Text("gen_ai.tool.name"), attributes.Text("gen_ai.tool.type"), errorType, duration);
                errorType = "";
                break;
            case "invoke_workflow":
                _invokeWorkflow.GetOrAdd([Cap(attributes.Text("gen_ai.workflow.name")), Cap(errorType)])?.Observe(duration);
                break;
            default:
                var provider = Conventions.Text(attributes, "gen_ai.provider.name");
                RecordModelCall(operation, provider, model, errorType, duration, tokensIn, tokensOut, null);
                errorType = "";
                break;
        }

        // Only GenAI operations count as agent errors: a failed HTTP span from auto-instrumentation is not one.
        if (errorType.Length > 0 && operation.Length > 0)
        {
            Add(_errors, [Cap(errorType)], 1);
        }

        var set = _custom.Current;
        if (!set.HasSpanMetrics)
        {
            return;
        }

        foreach (var metric in set.ForSpan(span.Name))
        {
            RecordCustom(metric, attributes, resource, duration);
        }

        if (operation.Length > 0 && operation != span.Name)
        {
            foreach (var metric in set.ForSpan(operation))
            {
                RecordCustom(metric, attributes, resource, duration);
            }
        }
    }

    private void RecordTask(string outcome, string? taskType, double? duration, long? tokensIn, long? tokensOut, string? model, double? cost)
    {
        var type = Cap(taskType);
        Add(_tasks, [outcome, type], 1);
        if (duration is { } seconds)
        {
            _taskDuration.GetOrAdd([outcome, type])?.Observe(seconds);
        }

        var modelLabel = Cap(model);
        if (tokensIn is > 0)
        {
            Add(_taskTokens, ["input", modelLabel], tokensIn.Value);
        }

        if (tokensOut is > 0)
        {
            Add(_taskTokens, ["output", modelLabel], tokensOut.Value);
        }

        if (cost is { } dollars)
        {
            _taskCost.GetOrAdd([type])?.Observe(dollars);
        }
    }

    private void RecordModelCall(string operation, string? provider, string? model, string? errorType, double? duration, long? tokensIn, long? tokensOut, double? timeToFirstToken)
    {
        string op = Cap(operation), prov = Cap(provider), mod = Cap(model), error = Cap(errorType);
        if (duration is { } seconds)
        {
            _operationDuration.GetOrAdd([op, prov, mod, error])?.Observe(seconds);
        }

        if (tokensIn is { } input)
        {
            _tokenUsage.GetOrAdd([op, prov, mod, "input"])?.Observe(input);
            Add(_inputTokens, [op, prov, mod], input);
        }

        if (tokensOut is { } output)
        {
            _tokenUsage.GetOrAdd([op, prov, mod, "output"])?.Observe(output);
            Add(_outputTokens, [op, prov, mod], output);
        }

        if (timeToFirstToken is { } first)
        {
            _timeToFirstChunk.GetOrAdd([op, prov, mod])?.Observe(first);
        }

        if (error.Length > 0)
        {
            Add(_errors, [error], 1);
        }
    }

    private void RecordTool(string? tool, string? toolType, string? errorType, double? duration)
    {
        var error = Cap(errorType);
        if (duration is { } seconds)
        {
            _executeTool.GetOrAdd([Cap(tool), Cap(toolType), error])?.Observe(seconds);
        }

        if (error.Length > 0)
        {
            Add(_errors, [error], 1);
        }
    }

    private void RecordCustom(CustomMetric metric, Attributes fields, Attributes? resource, double fallback)
    {
        if (!metric.Matches(fields, resource))
        {
            return;
        }

        if (metric.ValueOf(fields, fallback) is not { } value || !double.IsFinite(value))
        {
            _registry.CountDrop(DropReason.UnsupportedPoint);
            return;
        }

        if (metric.SeriesFor(fields, resource, _registry) is { } series)
        {
            metric.Record(series, value, _registry);
        }
    }

    private static void Add(MetricFamily family, ReadOnlySpan<string> key, double amount) => family.GetOrAdd(key)?.Add(amount);

    private static long? Whole(Attributes attributes, string key) =>
        Conventions.TryGet(attributes, key, out var value) && value.Number is { } number && number >= 0 ? (long)number : null;

    private string Cap(string? value) => LabelValues.Cap(_registry, value);

    private MetricFamily BuiltIn(MetricSpec spec) => _registry.Find(spec.Name)
        ?? throw new InvalidOperationException($"the built-in metric {spec.Name} could not be defined");
}
