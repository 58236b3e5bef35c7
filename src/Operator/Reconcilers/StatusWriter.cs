using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>Writes a status only when it changed, and records an Event when the Ready condition changes.</summary>
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
        if (now is not null && (before?.Status != now.Status || before.Reason != now.Reason))
        {
            if (now.Status == "True")
            {
                await events.NormalAsync(owner, now.Reason, now.Message, cancellationToken);
            }
            else
            {
                await events.WarningAsync(owner, now.Reason, now.Message, cancellationToken);
            }
        }
    }
}
