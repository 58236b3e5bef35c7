using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>Writes a status only when it changed, and queues an Event when the Ready condition changes but for a flip of the flag.</summary>
public sealed class StatusWriter(KubernetesClient client, EventRecorder events)
{
    /// <summary>Patches the status subresource of <paramref name="owner"/> with <paramref name="next"/> unless it equals <paramref name="current"/>.</summary>
    public async Task WriteAsync<TStatus>(
        IKubernetesObject owner, ResourceType type, TStatus? current, TStatus next, JsonTypeInfo<TStatus> typeInfo,
        Func<TStatus?, IReadOnlyList<Condition>?> conditions, CancellationToken cancellationToken)
        where TStatus : class
    {
        var after = JsonSerializer.Serialize(next, typeInfo);
        if (current is not null && JsonSerializer.Serialize(current, typeInfo) == after)
        {
            return;
        }

        await client.PatchAsync(
            type, owner.Metadata.Namespace, owner.Metadata.Name!, PatchKind.Merge, $$"""{"status":{{after}}}""",
            KubernetesJsonContext.Default.KubernetesObject, "status", cancellationToken);

        var before = conditions(current)?.FirstOrDefault(c => c.Type == Conditions.Ready);
        var now = conditions(next)?.FirstOrDefault(c => c.Type == Conditions.Ready);
        // A flip of the flag moves every object into FeatureDisabled and back to Ready: FlagAnnouncer records
        // that once, on the flag. A warning on the way back (an output now unavailable, say) is the object's own.
        var flipped = now?.Reason == Conditions.FeatureDisabled || (before?.Reason == Conditions.FeatureDisabled && now?.Status == "True");
        if (now is not null && !flipped && (before?.Status != now.Status || before.Reason != now.Reason))
        {
            // Queued, not awaited: the status is the record, and its Event must not hold up the next status.
            events.Post(owner, now.Status == "True" ? "Normal" : "Warning", now.Reason, now.Message);
        }
    }
}
