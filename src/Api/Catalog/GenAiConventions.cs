namespace AgentMetrics.Api.Catalog;

/// <summary>An attribute key the GenAI conventions renamed: the older key, the current one, and the release that renamed it.</summary>
public sealed record AttributeAlias(string Older, string Current, string RenamedIn);

/// <summary>
/// An OTLP metric name that feeds a built-in metric named for another convention name: <see cref="Name"/>
/// feeds the built-in metric whose convention is <see cref="Feeds"/>, with <see cref="FixedLabel"/> set to
/// <see cref="FixedValue"/> when the name itself says what that label would (a per-direction token histogram).
/// </summary>
public sealed record MetricAlias(string Name, string Feeds, string Version, string Why, string? FixedLabel = null, string? FixedValue = null);

/// <summary>
/// The one alias table of OpenTelemetry GenAI names the sidecar reads under another name, and the
/// release each name follows. The sidecar reads spans and OTLP metrics through it and docs/metrics.md
/// lists it, so an instrumentation on an older version of the conventions and one on the current
/// version feed the same series.
/// </summary>
public static class GenAiConventions
{
    /// <summary>
    /// The last release of opentelemetry/semantic-conventions that held the GenAI conventions; 1.42.0
    /// deprecated them all when they moved to their own repository.
    /// </summary>
    public const string Core = "semconv 1.41.0";

    /// <summary>
    /// open-telemetry/semantic-conventions-genai, where the GenAI conventions live since; its names are
    /// in development and it had tagged no release when these were taken from its main branch.
    /// </summary>
    public const string GenAi = "semconv-genai main, unreleased";

    /// <summary>Older attribute keys, each with the current key it stands for.</summary>
    public static readonly IReadOnlyList<AttributeAlias> AttributeAliases =
    [
        new("gen_ai.system", "gen_ai.provider.name", "semconv 1.37.0"),
        new("gen_ai.usage.prompt_tokens", "gen_ai.usage.input_tokens", "semconv 1.27.0"),
        new("gen_ai.usage.completion_tokens", "gen_ai.usage.output_tokens", "semconv 1.27.0"),
    ];

    /// <summary>OTLP metric names that feed a built-in metric declared under another convention name.</summary>
    public static readonly IReadOnlyList<MetricAlias> MetricAliases =
    [
        new("gen_ai.workflow.duration", "gen_ai.invoke_workflow.duration", GenAi,
            "the workflow duration's first name, renamed to match the invoke_workflow operation"),
        new("gen_ai.client.inference.operation.input_tokens", "gen_ai.client.token.usage", GenAi,
            "the per-direction histogram that replaces gen_ai.client.token.usage", "gen_ai_token_type", "input"),
        new("gen_ai.client.inference.operation.output_tokens", "gen_ai.client.token.usage", GenAi,
            "the per-direction histogram that replaces gen_ai.client.token.usage", "gen_ai_token_type", "output"),
    ];

    /// <summary>The release each built-in metric's convention name follows.</summary>
    public static readonly IReadOnlyDictionary<string, string> Versions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["gen_ai.client.operation.duration"] = Core,
        ["gen_ai.client.token.usage"] = Core,
        ["gen_ai.client.operation.time_to_first_chunk"] = Core,
        ["gen_ai.invoke_agent.duration"] = GenAi,
        ["gen_ai.execute_tool.duration"] = GenAi,
        ["gen_ai.invoke_workflow.duration"] = GenAi,
        ["gen_ai.client.inference.usage.input_tokens"] = GenAi,
        ["gen_ai.client.inference.usage.output_tokens"] = GenAi,
    };
}
