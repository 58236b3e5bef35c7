using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Operator.Streaming;

/// <summary>A request turned away: the HTTP status code and what is wrong, for the JSON error body.</summary>
public sealed record Refusal(int StatusCode, string Message);

/// <summary>
/// Who may watch a pod's definitions: a service account of the pod's namespace that the pod runs
/// as, and, when its token is bound to a pod, only from that pod. So a sidecar reads what its own
/// pod is sent and nothing of another namespace.
/// </summary>
public static class StreamAccess
{
    public const string PodNameExtra = "authentication.kubernetes.io/pod-name";
    public const string PodUidExtra = "authentication.kubernetes.io/pod-uid";
    private const string ServiceAccountPrefix = "system:serviceaccount:";

    /// <summary>Null when <paramref name="user"/> may watch <paramref name="pod"/> (null when not cached) as <paramref name="name"/> in <paramref name="namespace"/>.</summary>
    public static Refusal? Check(UserInfo user, string @namespace, string name, KubernetesObject? pod)
    {
        var username = user.Username ?? "";
        var parts = username.StartsWith(ServiceAccountPrefix, StringComparison.Ordinal)
            ? username[ServiceAccountPrefix.Length..].Split(':')
            : [];
        if (parts.Length != 2)
        {
            return new(403, $"the token belongs to {username}, not to a service account of namespace {@namespace}");
        }

        var (accountNamespace, account) = (parts[0], parts[1]);
        if (accountNamespace != @namespace)
        {
            return new(403, $"the token belongs to service account {accountNamespace}/{account}, which may not watch pods of namespace {@namespace}");
        }

        if (Extra(user, PodNameExtra) is { } boundTo && boundTo != name)
        {
            return new(403, $"the token is bound to pod {boundTo}, not to pod {name}");
        }

        if (pod is null)
        {
            return new(404, $"pod {@namespace}/{name} is not known to the operator");
        }

        if (Extra(user, PodUidExtra) is { } boundUid && boundUid != pod.Metadata.Uid)
        {
            return new(403, $"the token is bound to an earlier pod {name} (uid {boundUid}); this one has uid {pod.Metadata.Uid}");
        }

        var runsAs = ServiceAccountOf(pod);
        return runsAs == account
            ? null
            : new(403, $"pod {@namespace}/{name} runs as service account {runsAs}, not as {account} whose token this is");
    }

    /// <summary>The pod's spec.serviceAccountName; "default" when unset, as the API server's admission would make it.</summary>
    public static string ServiceAccountOf(KubernetesObject pod)
    {
        var spec = pod.Body["spec"] as JsonObject;
        var name = spec?["serviceAccountName"] ?? spec?["serviceAccount"];
        return name?.GetValue<string>() is { Length: > 0 } account ? account : "default";
    }

    private static string? Extra(UserInfo user, string key) =>
        user.Extra?.GetValueOrDefault(key) is [var value, ..] ? value : null;
}
