using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Rendering;

/// <summary>
/// How Prometheus is wired in: one adapter per output mode, chosen once from the options. It knows the
/// kinds its mode writes and renders every object the mode needs (a threshold's or definition's rules,
/// the built-in rules, a namespace's scrape configuration); pure functions of their input.
/// </summary>
public abstract class PrometheusOutput
{
    public static readonly ResourceType PrometheusRules = new("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule");
    public static readonly ResourceType PodMonitors = new("monitoring.coreos.com", "v1", "podmonitors", "PodMonitor");

    private protected PrometheusOutput(OutputOptions options) => Options = options;

    public OutputOptions Options { get; }

    /// <summary>The kind rules are written as.</summary>
    public abstract ResourceType RulesKind { get; }

    /// <summary>The kind a namespace's scrape configuration is written as.</summary>
    public abstract ResourceType ScrapeKind { get; }

    /// <summary>The adapter of <paramref name="options"/>' mode.</summary>
    public static PrometheusOutput For(OutputOptions options) =>
        options.Mode == OutputMode.ConfigMaps ? new ConfigMapOutput(options) : new PrometheusOperatorOutput(options);

    /// <summary>The kind of the other mode's object that <paramref name="child"/> stands in for, so what that mode left can be removed.</summary>
    public abstract ResourceType Replaces(KubernetesObject child);

    /// <summary>The kind <paramref name="child"/>, an object this adapter rendered, is written as.</summary>
    public ResourceType KindOf(KubernetesObject child) => IsScrape(child) ? ScrapeKind : RulesKind;

    /// <summary>The object holding <paramref name="group"/> for <paramref name="owner"/>, in its namespace, controlled by it.</summary>
    public abstract KubernetesObject Rules(IKubernetesObject owner, RuleGroup group);

    /// <summary>The built-in recording rules (every agent metric per agent and per namespace, and the fleet scores), owned by no one.</summary>
    public abstract KubernetesObject BuiltInRules(string @namespace);

    /// <summary>
    /// How Prometheus finds the sidecars of a namespace. Sidecar labels win (honor labels), because the
    /// sidecar already sets namespace, pod and agent.
    /// </summary>
    public abstract KubernetesObject Scrape(string @namespace);

    /// <summary>Whether <paramref name="child"/> is a namespace's scrape configuration (of either mode).</summary>
    public static bool IsScrape(KubernetesObject child) => child.Metadata.Labels?.ContainsKey(Names.ScrapeConfigLabel) == true;

    private protected static Dictionary<string, string> ScrapeLabels() =>
        new() { [Names.ManagedByLabel] = Names.ManagedBy, [Names.ScrapeConfigLabel] = "true" };
}

/// <summary>PrometheusRule and PodMonitor objects, for the Prometheus Operator (kube-prometheus-stack), carrying its selector labels.</summary>
public sealed class PrometheusOperatorOutput(OutputOptions options) : PrometheusOutput(options)
{
    public override ResourceType RulesKind => PrometheusRules;

    public override ResourceType ScrapeKind => PodMonitors;

    public override ResourceType Replaces(KubernetesObject child) => ResourceType.ConfigMaps;

    public override KubernetesObject Rules(IKubernetesObject owner, RuleGroup group) =>
        PrometheusRule(Names.RulesObject(owner.Kind!, owner.Metadata.Name!), owner.Metadata.Namespace!, ObjectRenderer.Labels(owner), owner, group);

    public override KubernetesObject BuiltInRules(string @namespace) =>
        PrometheusRule(Names.BuiltInRules, @namespace, new Dictionary<string, string> { [Names.ManagedByLabel] = Names.ManagedBy }, null, [.. RuleRenderer.BuiltIn()]);

    public override KubernetesObject Scrape(string @namespace) => new()
    {
        ApiVersion = "monitoring.coreos.com/v1",
        Kind = "PodMonitor",
        Metadata = ObjectRenderer.Metadata(Names.ScrapeObject, @namespace, Selected(ScrapeLabels()), null),
        Body = new JsonObject
        {
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { [Names.InjectedLabel] = "true" } },
                ["podMetricsEndpoints"] = new JsonArray(new JsonObject
                {
                    ["port"] = Names.MetricsPortName,
                    ["path"] = "/metrics",
                    ["interval"] = Options.ScrapeInterval,
                    ["honorLabels"] = true,
                }),
            },
        },
    };

    private KubernetesObject PrometheusRule(string name, string @namespace, Dictionary<string, string> labels, IKubernetesObject? owner, params RuleGroup[] groups) => new()
    {
        ApiVersion = "monitoring.coreos.com/v1",
        Kind = "PrometheusRule",
        Metadata = ObjectRenderer.Metadata(name, @namespace, Selected(labels), owner),
        Body = new JsonObject { ["spec"] = new JsonObject { ["groups"] = new JsonArray([.. groups.Select(ObjectRenderer.GroupJson)]) } },
    };

    // A Prometheus only loads the objects its ruleSelector and podMonitorSelector match.
    private Dictionary<string, string> Selected(Dictionary<string, string> labels)
    {
        foreach (var (key, value) in Options.SelectorLabels)
        {
            labels[key] = value;
        }

        return labels;
    }
}

/// <summary>ConfigMaps holding rule files and a scrape-config snippet, for a Prometheus configured by hand.</summary>
public sealed class ConfigMapOutput(OutputOptions options) : PrometheusOutput(options)
{
    public override ResourceType RulesKind => ResourceType.ConfigMaps;

    public override ResourceType ScrapeKind => ResourceType.ConfigMaps;

    public override ResourceType Replaces(KubernetesObject child) => IsScrape(child) ? PodMonitors : PrometheusRules;

    public override KubernetesObject Rules(IKubernetesObject owner, RuleGroup group) =>
        RuleConfigMap(Names.RulesObject(owner.Kind!, owner.Metadata.Name!), owner.Metadata.Namespace!, ObjectRenderer.Labels(owner), owner, group);

    public override KubernetesObject BuiltInRules(string @namespace) =>
        RuleConfigMap(Names.BuiltInRules, @namespace, new Dictionary<string, string> { [Names.ManagedByLabel] = Names.ManagedBy }, null, [.. RuleRenderer.BuiltIn()]);

    public override KubernetesObject Scrape(string @namespace)
    {
        var snippet = $"""
            - job_name: "agent-metrics/{@namespace}"
              scrape_interval: "{Options.ScrapeInterval}"
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
            Metadata = ObjectRenderer.Metadata(Names.ScrapeObject, @namespace, ScrapeLabels(), null),
            Body = new JsonObject { ["data"] = new JsonObject { [$"{@namespace}-agent-metrics.scrape.yaml"] = snippet } },
        };
    }

    private static KubernetesObject RuleConfigMap(string name, string @namespace, Dictionary<string, string> labels, IKubernetesObject? owner, params RuleGroup[] groups)
    {
        labels[Names.RulesLabel] = "true";
        return new KubernetesObject
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = ObjectRenderer.Metadata(name, @namespace, labels, owner),
            Body = new JsonObject { ["data"] = new JsonObject { [$"{@namespace}-{name}.rules.yaml"] = RuleFile.Render(groups) } },
        };
    }
}
