using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Rendering;

/// <summary>Renders the dashboards' ConfigMaps, and the parts every output mode's objects share; pure functions of their input.</summary>
public static class ObjectRenderer
{
    /// <summary>
    /// A dashboard as the ConfigMap Grafana's dashboard sidecar loads: label grafana_dashboard "1", and the
    /// folder in the annotation the sidecar is configured to read.
    /// </summary>
    public static KubernetesObject Dashboard(JsonObject dashboard, string @namespace, DashboardOptions options)
    {
        var uid = (string)dashboard["uid"]!;
        return new KubernetesObject
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new ObjectMeta
            {
                Name = Names.Truncate(uid.StartsWith("agent-metrics-", StringComparison.Ordinal) ? $"agent-metrics-dashboard-{uid[14..]}" : uid),
                Namespace = @namespace,
                Labels = new Dictionary<string, string>
                {
                    [Names.ManagedByLabel] = Names.ManagedBy,
                    [Names.GrafanaDashboardLabel] = "1",
                    [Names.DashboardLabel] = uid.StartsWith("agent-metrics-custom-", StringComparison.Ordinal) ? "custom" : "standing",
                },
                Annotations = new Dictionary<string, string> { [options.FolderAnnotation] = options.Folder },
            },
            Body = new JsonObject { ["data"] = new JsonObject { [$"{uid}.json"] = dashboard.ToJsonString() } },
        };
    }

    internal static JsonObject GroupJson(RuleGroup group)
    {
        var rules = new JsonArray();
        foreach (var rule in group.Rules)
        {
            var json = new JsonObject();
            if (rule.Record is not null)
            {
                json["record"] = rule.Record;
            }
            else
            {
                json["alert"] = rule.Alert;
            }

            json["expr"] = rule.Expr;
            if (rule.For is not null)
            {
                json["for"] = rule.For;
            }

            if (rule.Labels is { Count: > 0 })
            {
                json["labels"] = new JsonObject(rule.Labels.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value)));
            }

            if (rule.Annotations is { Count: > 0 })
            {
                json["annotations"] = new JsonObject(rule.Annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value)));
            }

            // JsonNode, not JsonObject: the generic Add<T> is not trim-safe, and the kubectl plugin is trimmed.
            rules.Add((JsonNode)json);
        }

        return new JsonObject { ["name"] = group.Name, ["interval"] = group.Interval, ["rules"] = rules };
    }

    internal static Dictionary<string, string> Labels(IKubernetesObject owner) => new()
    {
        [Names.ManagedByLabel] = Names.ManagedBy,
        [Names.OwnerKindLabel] = owner.Kind!,
        [Names.OwnerNameLabel] = Names.Truncate(owner.Metadata.Name!),
    };

    internal static ObjectMeta Metadata(string name, string @namespace, Dictionary<string, string> labels, IKubernetesObject? owner) => new()
    {
        Name = name,
        Namespace = @namespace,
        Labels = labels,
        // An owner read from a file (the CLI's render) has no uid yet, and a reference without one is refused.
        OwnerReferences = owner?.Metadata.Uid is null
            ? null
            :
            [
                new OwnerReference
                {
                    ApiVersion = owner.ApiVersion!,
                    Kind = owner.Kind!,
                    Name = owner.Metadata.Name!,
                    Uid = owner.Metadata.Uid!,
                    Controller = true,
                    BlockOwnerDeletion = true,
                },
            ],
    };
}
