namespace AgentMetrics.Api.Catalog;

/// <summary>
/// The standard agent metrics, in one place for the operator, the sidecar, the rules and the docs.
/// Where the OpenTelemetry GenAI semantic conventions define a metric, its name, unit and bucket
/// boundaries follow them (translated to Prometheus names); agent-task metrics fill in the rest.
/// </summary>
public static class BuiltInMetrics
{
    /// <summary>Labels every series carries, set by the sidecar from the pod's identity.</summary>
    public static readonly IReadOnlyList<string> IdentityLabels = ["namespace", "pod", "agent", "agent_version"];

    /// <summary>Task outcomes, the values of the <c>outcome</c> label of task metrics.</summary>
    public static readonly IReadOnlyList<string> TaskOutcomes = ["success", "failure", "timeout", "rework", "escalated", "cancelled"];

    /// <summary>The conventions' boundaries for gen_ai.client.operation.duration, in seconds.</summary>
    public static readonly IReadOnlyList<double> OperationDurationBuckets =
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    /// <summary>The conventions' boundaries for gen_ai.client.token.usage.</summary>
    public static readonly IReadOnlyList<double> TokenUsageBuckets =
        [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary>Boundaries for time to first token, in seconds.</summary>
    public static readonly IReadOnlyList<double> TimeToFirstTokenBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>Boundaries for whole agent tasks and invocations, which span many model and tool calls, in seconds.</summary>
    public static readonly IReadOnlyList<double> TaskDurationBuckets =
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6];

    /// <summary>Boundaries for scores normalised to 0..1.</summary>
    public static readonly IReadOnlyList<double> ScoreBuckets = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

    /// <summary>Boundaries for the cost of one task, in US dollars.</summary>
    public static readonly IReadOnlyList<double> CostBuckets = [0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

    public static readonly MetricSpec OperationDuration = new(
        "gen_ai_client_operation_duration_seconds", MetricType.Histogram, "seconds",
        "Duration of one GenAI operation (a model call, an embedding, a tool call made through the model client), failed ones included.",
        ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"],
        OperationDurationBuckets, "gen_ai.client.operation.duration");

    public static readonly MetricSpec TokenUsage = new(
        "gen_ai_client_token_usage", MetricType.Histogram, "tokens",
        "Input and output tokens of one GenAI operation.",
        ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"],
        TokenUsageBuckets, "gen_ai.client.token.usage");

    public static readonly MetricSpec TimeToFirstChunk = new(
        "gen_ai_client_operation_time_to_first_chunk_seconds", MetricType.Histogram, "seconds",
        "Time from a streaming model request to its first chunk.",
        ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"],
        TimeToFirstTokenBuckets, "gen_ai.client.operation.time_to_first_chunk");

    public static readonly MetricSpec InvokeAgentDuration = new(
        "gen_ai_invoke_agent_duration_seconds", MetricType.Histogram, "seconds",
        "Duration of one agent invocation, from start to its final response or error.",
        ["gen_ai_request_model", "error_type"],
        TaskDurationBuckets, "gen_ai.invoke_agent.duration");

    public static readonly MetricSpec InvokeWorkflowDuration = new(
        "gen_ai_invoke_workflow_duration_seconds", MetricType.Histogram, "seconds",
        "Duration of one workflow: a coordinated run of several agents or GenAI operations.",
        ["gen_ai_workflow_name", "error_type"],
        TaskDurationBuckets, "gen_ai.invoke_workflow.duration");

    public static readonly MetricSpec ExecuteToolDuration = new(
        "gen_ai_execute_tool_duration_seconds", MetricType.Histogram, "seconds",
        "Duration of one tool execution.",
        ["gen_ai_tool_name", "gen_ai_tool_type", "error_type"],
        OperationDurationBuckets, "gen_ai.execute_tool.duration");

    public static readonly MetricSpec InputTokens = new(
        "gen_ai_client_inference_usage_input_tokens", MetricType.Counter, "tokens",
        "Input tokens of GenAI operations, cached ones included.",
        ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"],
        null, "gen_ai.client.inference.usage.input_tokens");

    public static readonly MetricSpec OutputTokens = new(
        "gen_ai_client_inference_usage_output_tokens", MetricType.Counter, "tokens",
        "Output tokens of GenAI operations, reasoning ones included.",
        ["gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"],
        null, "gen_ai.client.inference.usage.output_tokens");

    public static readonly MetricSpec Tasks = new(
        "agent_tasks", MetricType.Counter, "tasks",
        "Tasks finished, by outcome: success, failure, timeout, rework, escalated or cancelled.",
        ["outcome", "task_type"]);

    public static readonly MetricSpec TaskDuration = new(
        "agent_task_duration_seconds", MetricType.Histogram, "seconds",
        "Response time of one task, from receipt to outcome; the source of the p50/p90/p99 response times.",
        ["outcome", "task_type"],
        TaskDurationBuckets);

    public static readonly MetricSpec TaskTokens = new(
        "agent_task_tokens", MetricType.Counter, "tokens",
        "Tokens spent on tasks, by token type (input or output) and model.",
        ["gen_ai_token_type", "gen_ai_request_model"]);

    public static readonly MetricSpec TaskCost = new(
        "agent_task_cost_dollars", MetricType.Histogram, "dollars",
        "Cost of one task in US dollars; sum over count is the cost per task.",
        ["task_type"],
        CostBuckets);

    public static readonly MetricSpec Errors = new(
        "agent_errors", MetricType.Counter, "errors",
        "Errors the agent met (model, tool or its own), by error type.",
        ["error_type"]);

    public static readonly MetricSpec Handoffs = new(
        "agent_handoffs", MetricType.Counter, "handoffs",
        "Hand-offs to another agent, by outcome (success or failure) and whether the context was preserved.",
        ["outcome", "target_agent", "context_preserved"]);

    public static readonly MetricSpec Escalations = new(
        "agent_escalations", MetricType.Counter, "escalations",
        "Escalations to a person or a higher tier, by reason.",
        ["reason"]);

    public static readonly MetricSpec Satisfaction = new(
        "agent_satisfaction_score", MetricType.Histogram, "ratio",
        "User satisfaction with a task, normalised to 0..1.",
        ["task_type"],
        ScoreBuckets);

    public static readonly MetricSpec Accuracy = new(
        "agent_accuracy_score", MetricType.Histogram, "ratio",
        "Judged accuracy of a task's output, normalised to 0..1.",
        ["task_type"],
        ScoreBuckets);

    public static readonly MetricSpec TasksInFlight = new(
        "agent_tasks_in_flight", MetricType.Gauge, "tasks",
        "Tasks the agent is working on now.",
        []);

    public static readonly MetricSpec QueueDepth = new(
        "agent_queue_depth", MetricType.Gauge, "tasks",
        "Tasks waiting for the agent.",
        []);

    /// <summary>Every built-in metric, in documentation order.</summary>
    public static readonly IReadOnlyList<MetricSpec> All =
    [
        Tasks, TaskDuration, TaskTokens, TaskCost, Errors, Handoffs, Escalations, Satisfaction, Accuracy,
        TasksInFlight, QueueDepth, OperationDuration, TokenUsage, TimeToFirstChunk, InvokeAgentDuration, ExecuteToolDuration,
        InvokeWorkflowDuration, InputTokens, OutputTokens,
    ];

    private static readonly Dictionary<string, MetricSpec> ByName = All.ToDictionary(m => m.Name);

    /// <summary>The built-in metric named <paramref name="name"/> (with or without a counter's <c>_total</c>), or null.</summary>
    public static MetricSpec? Find(string name) =>
        ByName.GetValueOrDefault(name)
        ?? (name.EndsWith("_total", StringComparison.Ordinal) && ByName.GetValueOrDefault(name[..^6]) is { Type: MetricType.Counter } counter
            ? counter
            : null);
}
