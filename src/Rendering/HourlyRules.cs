using AgentMetrics.Api.Catalog;

namespace AgentMetrics.Rendering;

/// <summary>A raw series whose hourly increase is recorded per agent version (and by <paramref name="By"/>, when set) as <paramref name="Record"/>.</summary>
public sealed record HourlySeries(string Series, string? By, string Record);

/// <summary>
/// The hourly increases the report (<c>kubectl agentmetrics report</c>) sums over a period: each built-in
/// counter it needs, and the task-duration buckets and the cost's sum and count, per namespace, agent and
/// agent version. Evaluated once an hour over the hour before, the samples tile time, so the sum of a
/// period's samples is the period's count, and 90 days are 2160 samples a series instead of every scrape.
/// </summary>
public static class HourlyRules
{
    /// <summary>The window of the hourly increases, which is also their evaluation interval.</summary>
    public const string Window = "1h";

    /// <summary>What every hourly series is summed by, besides its own label.</summary>
    public const string PerVersion = "namespace, agent, agent_version";

    /// <summary>Tasks, by outcome.</summary>
    public static readonly HourlySeries Tasks = new(BuiltInMetrics.Tasks.Name + "_total", "outcome", $"namespace_agent_version_outcome:agent_tasks:increase_{Window}");

    /// <summary>The task-duration buckets, by <c>le</c>: the source of a period's p50 and p99.</summary>
    public static readonly HourlySeries DurationBuckets = new(BuiltInMetrics.TaskDuration.Name + "_bucket", "le", $"namespace_agent_version_le:agent_task_duration_seconds_bucket:increase_{Window}");

    /// <summary>Dollars spent on tasks.</summary>
    public static readonly HourlySeries CostSum = new(BuiltInMetrics.TaskCost.Name + "_sum", null, $"namespace_agent_version:agent_task_cost_dollars_sum:increase_{Window}");

    /// <summary>Tasks whose cost was reported.</summary>
    public static readonly HourlySeries CostCount = new(BuiltInMetrics.TaskCost.Name + "_count", null, $"namespace_agent_version:agent_task_cost_dollars_count:increase_{Window}");

    /// <summary>Tokens, by token type.</summary>
    public static readonly HourlySeries Tokens = new(BuiltInMetrics.TaskTokens.Name + "_total", "gen_ai_token_type", $"namespace_agent_version_gen_ai_token_type:agent_task_tokens:increase_{Window}");

    /// <summary>Escalations to a person or a higher tier.</summary>
    public static readonly HourlySeries Escalations = new(BuiltInMetrics.Escalations.Name + "_total", null, $"namespace_agent_version:agent_escalations:increase_{Window}");

    /// <summary>Hand-offs to another agent.</summary>
    public static readonly HourlySeries Handoffs = new(BuiltInMetrics.Handoffs.Name + "_total", null, $"namespace_agent_version:agent_handoffs:increase_{Window}");

    /// <summary>Every hourly series, in the order the rule group records them.</summary>
    public static IReadOnlyList<HourlySeries> All { get; } = [Tasks, DurationBuckets, CostSum, CostCount, Tokens, Escalations, Handoffs];

    /// <summary>The group of the hourly increases, evaluated every <see cref="Window"/>.</summary>
    public static RuleGroup Group() => new(
        "agentmetrics.builtin.hourly",
        Window,
        [.. All.Select(s => new Rule(
            s.Record, null,
            $"sum by ({(s.By is null ? PerVersion : $"{PerVersion}, {s.By}")}) (increase({s.Series}[{Window}]))"))]);
}
