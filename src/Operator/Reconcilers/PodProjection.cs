using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Reconcilers;

/// <summary>
/// What the operator keeps of a pod in its cache: identity, labels and the injection annotations, the
/// service account (the definitions stream checks it), the node and host network, the containers' names
/// and ports, the sidecar's environment (the identity service discovery reports), the phase and the pod
/// IP. Everything else (managed fields, last-applied configuration, volumes, the agent's own env and
/// resources, status conditions) is dropped as the pod arrives, so the cache grows with the fleet by a
/// small, bounded record per pod rather than by whole pod specs.
/// </summary>
public static class PodProjection
{
    private const string LastApplied = "kubectl.kubernetes.io/last-applied-configuration";
    private static readonly string[] SpecFields = ["nodeName", "hostNetwork", "serviceAccountName", "serviceAccount"];
    private static readonly string[] StatusFields = ["phase", "podIP"];

    /// <summary>The cached form of <paramref name="pod"/>.</summary>
    public static KubernetesObject Trim(KubernetesObject pod)
    {
        var meta = pod.Metadata;
        var annotations = meta.Annotations is { } all && all.ContainsKey(LastApplied)
            ? all.Where(a => a.Key != LastApplied).ToDictionary(a => a.Key, a => a.Value)
            : meta.Annotations;
        var spec = new JsonObject();
        var specIn = pod.Body["spec"] as JsonObject;
        Copy(specIn, spec, SpecFields);
        foreach (var field in new[] { "initContainers", "containers" })
        {
            if (specIn?[field] is JsonArray containers)
            {
                spec[field] = new JsonArray([.. containers.Select(Container)]);
            }
        }

        var status = new JsonObject();
        Copy(pod.Body["status"] as JsonObject, status, StatusFields);
        return new KubernetesObject
        {
            ApiVersion = pod.ApiVersion,
            Kind = pod.Kind,
            Metadata = new ObjectMeta
            {
                Name = meta.Name,
                Namespace = meta.Namespace,
                Uid = meta.Uid,
                ResourceVersion = meta.ResourceVersion,
                CreationTimestamp = meta.CreationTimestamp,
                DeletionTimestamp = meta.DeletionTimestamp,
                Labels = meta.Labels,
                Annotations = annotations,
                OwnerReferences = meta.OwnerReferences,
            },
            Body = new JsonObject { ["spec"] = spec, ["status"] = status },
        };
    }

    private static JsonNode? Container(JsonNode? container)
    {
        if (container is not JsonObject source)
        {
            return null;
        }

        var kept = new JsonObject();
        var isSidecar = JsonText.Of(source["name"]) == Names.SidecarContainer;
        Copy(source, kept, isSidecar ? ["name", "ports", "env"] : ["name", "ports"]);
        return kept;
    }

    private static void Copy(JsonObject? from, JsonObject to, IEnumerable<string> fields)
    {
        foreach (var field in fields)
        {
            if (from?[field] is { } value)
            {
                to[field] = value.DeepClone();
            }
        }
    }
}
