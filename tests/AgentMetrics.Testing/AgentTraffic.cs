using System.Globalization;
using System.Text;

namespace AgentMetrics.Testing;

/// <summary>
/// Events that look like a real agent's, for the demo's fleet and the end-to-end tests: tasks with
/// mostly successful outcomes, model calls and tool calls with their latencies and tokens, costs,
/// occasional errors, handoffs and escalations, feedback, and the agent's load. About 96 % of tasks
/// succeed and 1 % fail, clear of the samples' thresholds (completion below 90 %, errors above 5 %). A
/// slow agent takes sixteen times as long, which puts its p99 (about 38 s) above the sample's 30 s. The
/// same seed gives the same events.
/// </summary>
public sealed class AgentTraffic(int seed, bool slow = false)
{
    private static readonly string[] Models = ["gpt-4o", "claude-sonnet-4", "llama-3.1-70b"];
    private static readonly string[] Providers = ["openai", "anthropic", "aws.bedrock"];
    private static readonly string[] TaskTypes = ["triage", "answer", "refund", "research"];
    private static readonly string[] Tools = ["search_kb", "lookup_order", "send_email"];
    private readonly Random _random = new(seed);

    /// <summary>A JSON array of the events of <paramref name="tasks"/> finished tasks and what came with them.</summary>
    public string NextBatch(int tasks = 5)
    {
        var events = new List<string>();
        for (var i = 0; i < tasks; i++)
        {
            var model = _random.Next(Models.Length);
            var taskType = TaskTypes[_random.Next(TaskTypes.Length)];
            var scale = slow ? 16.0 : 1.0;
            var llm = (0.3 + (_random.NextDouble() * 1.2)) * scale;
            var tokensIn = 400 + _random.Next(1600);
            var tokensOut = 50 + _random.Next(450);
            var llmError = _random.NextDouble() < 0.03 ? "rate_limited" : "";
            events.Add(Invariant(
                $$"""{"type":"llm_call","operation":"chat","provider":"{{Providers[model]}}","model":"{{Models[model]}}","duration_seconds":{{llm:0.###}},"time_to_first_token_seconds":{{llm / 4:0.###}},"tokens_in":{{tokensIn}},"tokens_out":{{tokensOut}},"error_type":"{{llmError}}"}"""));
            var tool = (0.05 + (_random.NextDouble() * 0.4)) * scale;
            events.Add(Invariant($$"""{"type":"tool_call","tool":"{{Tools[_random.Next(Tools.Length)]}}","duration_seconds":{{tool:0.###}}}"""));

            var roll = _random.NextDouble();
            var outcome = roll < 0.96 ? "success" : roll < 0.97 ? "failure" : roll < 0.98 ? "timeout" : roll < 0.99 ? "escalated" : "rework";
            var duration = llm + tool + (_random.NextDouble() * 0.5 * scale);
            var cost = (tokensIn * 0.0000025) + (tokensOut * 0.00001);
            events.Add(Invariant(
                $$"""{"type":"task","task_type":"{{taskType}}","outcome":"{{outcome}}","duration_seconds":{{duration:0.###}},"tokens_in":{{tokensIn}},"tokens_out":{{tokensOut}},"cost":{{cost:0.######}},"model":"{{Models[model]}}"}"""));
            if (outcome == "failure")
            {
                events.Add("""{"type":"error","error_type":"tool_failed"}""");
            }

            if (outcome == "escalated")
            {
                events.Add("""{"type":"escalation","reason":"customer_request"}""");
            }

            if (_random.NextDouble() < 0.1)
            {
                events.Add(Invariant($$"""{"type":"handoff","target_agent":"billing-agent","outcome":"{{(_random.NextDouble() < 0.9 ? "success" : "failure")}}","context_preserved":true}"""));
            }

            if (_random.NextDouble() < 0.3)
            {
                events.Add(Invariant($$"""{"type":"feedback","task_type":"{{taskType}}","satisfaction":{{0.6 + (_random.NextDouble() * 0.4):0.##}},"accuracy":{{0.7 + (_random.NextDouble() * 0.3):0.##}}}"""));
            }
        }

        events.Add(Invariant($$"""{"type":"gauge","queue_depth":{{_random.Next(slow ? 20 : 8)}},"tasks_in_flight":{{1 + _random.Next(4)}}}"""));
        return new StringBuilder("[").AppendJoin(',', events).Append(']').ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
