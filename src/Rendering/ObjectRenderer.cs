using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Rendering;

/// <summary>Renders the Kubernetes objects that carry rules and scrape configuration; pure functions of their input.</summary>
public static class ObjectRenderer
{
    /// <summary>
    /// The object holding <paramref name="group"/> for <paramref name="owner"/>: a PrometheusRule, or a
    /// ConfigMap with one rule file, in the owner's namespace, controlled by the owner.
    /// </summary>
    public static KubernetesObject Rules(IKubernetesObject owner, RuleGroup group, OutputOptions options)
    {
        var meta = owner.Metadata;
        var name = Names.RulesObject(owner.Kind!, meta.Name!);
        var labels = Labels(owner);
        if (options.Mode == OutputMode.ConfigMaps)
        {
            labels[Names.RulesLabel] = "true";
            return new KubernetesObject
            {
                ApiVersion = "v1",
                Kind = "ConfigMap",
                Metadata = Metadata(name, meta.Namespace!, labels, owner),
                Body = new JsonObject { ["data"] = new JsonObject { [$"{meta.Namespace}-{name}.rules.yaml"] = RuleFile.Render([group]) } },
            };
        }

        foreach (var (key, value) in options.SelectorLabels)
        {
            labels[key] = value;
        }

        return new KubernetesObject
        {
            ApiVersion = "monitoring.coreos.com/v1",
            Kind = "PrometheusRule",
            Metadata = Metadata(name, meta.Namespace!, labels, owner),
            Body = new JsonObject { ["spec"] = new JsonObject { ["groups"] = new JsonArray(GroupJson(group)) } },
        };
    }

    /// <summary>The built-in recording rules (every agent metric per agent and per namespace, and the fleet z-scores), owned by no one.</summary>
    public static KubernetesObject BuiltInRules(string @namespace, OutputOptions options)
    {
        var labels = new Dictionary<string, string> { [Names.ManagedByLabel] = Names.ManagedBy };
        var group = RuleRenderer.BuiltIn();
        if (options.Mode == OutputMode.ConfigMaps)
        {
            labels[Names.RulesLabel] = "true";
            return new KubernetesObject
            {
                ApiVersion = "v1",
                Kind = "ConfigMap",
                Metadata = Metadata(Names.BuiltInRules, @namespace, labels, null),
                Body = new JsonObject { ["data"] = new JsonObject { [$"{@namespace}-{Names.BuiltInRules}.rules.yaml"] = RuleFile.Render([group]) } },
            };
        }

        foreach (var (key, value) in options.SelectorLabels)
        {
            labels[key] = value;
        }

        return new KubernetesObject
        {
            ApiVersion = "monitoring.coreos.com/v1",
            Kind = "PrometheusRule",
            Metadata = Metadata(Names.BuiltInRules, @namespace, labels, null),
            Body = new JsonObject { ["spec"] = new JsonObject { ["groups"] = new JsonArray(GroupJson(group)) } },
        };
    }

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

    /// <summary>
    /// How Prometheus finds the sidecars of a namespace: a PodMonitor over pods with the sidecar, or a
    /// ConfigMap with a scrape_config snippet using Kubernetes pod discovery. Sidecar labels win
    /// (honor labels), because the sidecar already sets namespace, pod and agent.
    /// </summary>
    public static KubernetesObject Scrape(string @namespace, OutputOptions options, IKubernetesObject? owner = null)
    {
        var labels = new Dictionary<string, string> { [Names.ManagedByLabel] = Names.ManagedBy };
        if (options.Mode == OutputMode.ConfigMaps)
        {
            labels[Names.ScrapeConfigLabel] = "true";
            var snippet = $"""
                - job_name: "agent-metrics/{@namespace}"
                  scrape_interval: "{options.ScrapeInterval}"
                  honor_labels: true
                  kubernetes_sd_configs:
                  - role: pod
                    namespaces:
                      names: ["{@namespace}"]
                  relabel_configs:
                  - source_labels: [__meta_kubernetes_pod_container_port_name]
                    regex: "{Names.MetricsPortName}"
                    action: keep

                """;
            return new KubernetesObject
            {
                ApiVersion = "v1",
                Kind = "ConfigMap",
                Metadata = Metadata(Names.ScrapeObject, @namespace, labels, owner),
                Body = new JsonObject { ["data"] = new JsonObject { [$"{@namespace}-agent-metrics.scrape.yaml"] = snippet } },
            };
        }

        foreach (var (key, value) in options.SelectorLabels)
        {
            labels[key] = value;
        }

        return new KubernetesObject
        {
            ApiVersion = "monitoring.coreos.com/v1",
            Kind = "PodMonitor",
            Metadata = Metadata(Names.ScrapeObject, @namespace, labels, owner),
            Body = new JsonObject
            {
                ["spec"] = new JsonObject
                {
                    ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { [Names.InjectedLabel] = "true" } },
                    ["podMetricsEndpoints"] = new JsonArray(new JsonObject
                    {
                        ["port"] = Names.MetricsPortName,
                        ["path"] = "/metrics",
                        ["interval"] = options.ScrapeInterval,
                        ["honorLabels"] = true,
                    }),
                },
            },
        };
    }

    private static JsonObject GroupJson(RuleGroup group)
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

            rules.Add(json);
        }

        return new JsonObject { ["name"] = group.Name, ["interval"] = group.Interval, ["rules"] = rules };
    }

    private static Dictionary<string, string> Labels(IKubernetesObject owner) => new()
    {
        [Names.ManagedByLabel] = Names.ManagedBy,
        [Names.OwnerKindLabel] = owner.Kind!,
        [Names.OwnerNameLabel] = Names.Truncate(owner.Metadata.Name!),
    };

    private static ObjectMeta Metadata(string name, string @namespace, Dictionary<string, string> labels, IKubernetesObject? owner) => new()
    {
        Name = name,
        Namespace = @namespace,
        Labels = labels,
        OwnerReferences = owner is null
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
