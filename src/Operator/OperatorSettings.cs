using AgentMetrics.Api;
using AgentMetrics.Operator.Certificates;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator;

/// <summary>The operator's configuration; <see cref="OperatorCommandLine"/> reads it from flags and the environment.</summary>
public sealed partial record OperatorSettings
{
    /// <summary>A kubeconfig to use; empty means $KUBECONFIG, ~/.kube/config, or the pod's service account.</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The kubeconfig context to use; empty means its current-context.</summary>
    public string? Context { get; init; }

    /// <summary>The namespace the operator runs in: its leader-election Lease lives there.</summary>
    public string Namespace { get; init; } = Names.OperatorNamespace;

    /// <summary>This replica's identity in leader election; the pod name in a cluster.</summary>
    public string Identity { get; init; } = Environment.MachineName;

    /// <summary>prometheus-operator (PrometheusRule, PodMonitor) or configmaps (rule files for a Prometheus configured by hand).</summary>
    public string Output { get; init; } = OutputOptions.DefaultMode;

    /// <summary>Labels for the Prometheus's rule and pod-monitor selectors, as key=value[,key=value].</summary>
    public string SelectorLabels { get; init; } = OutputOptions.DefaultSelectorLabels;

    /// <summary>HTTPS address of the webhooks, the definitions stream, health endpoints and /metrics.</summary>
    public string Listen { get; init; } = "https://0.0.0.0:9443";

    public string WebhookCertFile { get; init; } = "/etc/agent-metrics/webhook/tls.crt";

    public string WebhookKeyFile { get; init; } = "/etc/agent-metrics/webhook/tls.key";

    /// <summary>self: the operator keeps its own CA and certificate in a Secret; files: read them from the files above (cert-manager).</summary>
    public string WebhookCertificates { get; init; } = "self";

    /// <summary>In files mode, the CA bundle that signs the certificate (cert-manager's ca.crt), given to injected sidecars.</summary>
    public string? WebhookCaFile { get; init; }

    /// <summary>In self mode, the Secret (in <see cref="Namespace"/>) holding the CA and the serving certificate.</summary>
    public string WebhookSecret { get; init; } = "agent-metrics-webhook-tls";

    /// <summary>In self mode, the names the serving certificate is for; empty: the Service agent-metrics-operator's DNS names.</summary>
    public string? WebhookHosts { get; init; }

    /// <summary>In self mode, the webhook configurations (mutating and validating, by name) whose caBundle is kept current.</summary>
    public string WebhookConfigurations { get; init; } = "agent-metrics";

    /// <summary>The flag's value while the ConfigMap agent-metrics-config does not set it.</summary>
    public bool EnableAgentMetrics { get; init; } = true;

    /// <summary>Namespaces never injected besides kube-system, kube-public and the operator's own, comma-separated.</summary>
    public string ExcludedNamespaces { get; init; } = "";

    public string SidecarImage { get; init; } = new SidecarOptions().Image;

    /// <summary>The sidecar's requests and limits as requests.cpu=20m,requests.memory=64Mi,limits.memory=192Mi.</summary>
    public string SidecarResources { get; init; } = $"requests.cpu=20m,requests.memory={SidecarMemory.Request},limits.memory={SidecarMemory.Limit}";

    /// <summary>How injected sidecars deliver: scrape or push.</summary>
    public string SidecarMode { get; init; } = "scrape";

    /// <summary>The remote-write endpoint injected sidecars push to in push mode.</summary>
    public string? RemoteWriteUrl { get; init; }

    /// <summary>Extra headers injected sidecars send with each push, as Name=value[,Name=value] (X-Scope-OrgID=team-a).</summary>
    public string? RemoteWriteHeaders { get; init; }

    /// <summary>A Secret in each agent's namespace whose key token is the remote-write bearer token; mounted into the sidecar.</summary>
    public string? RemoteWriteBearerTokenSecret { get; init; }

    /// <summary>How often injected sidecars push in push mode; empty: the sidecar's default (100ms).</summary>
    public string? SidecarPushInterval { get; init; }

    /// <summary>Where injected sidecars reach the definitions stream; empty: the Service agent-metrics-operator.</summary>
    public string? SidecarOperatorUrl { get; init; }

    /// <summary>auto (by the API server's version), true or false: inject the sidecar as a sidecar init container.</summary>
    public string NativeSidecar { get; init; } = "auto";

    /// <summary>The Grafana folder the dashboards go in.</summary>
    public string DashboardFolder { get; init; } = new DashboardOptions().Folder;

    /// <summary>The annotation Grafana's dashboard sidecar reads the folder from (its folderAnnotation).</summary>
    public string DashboardFolderAnnotation { get; init; } = new DashboardOptions().FolderAnnotation;

    /// <summary>Timings of the self-managed certificates; shorter only in tests.</summary>
    internal SelfManagedOptions? CertificateTimings { get; init; }

    /// <summary>The Service's DNS names, which the self-managed certificate is for unless told otherwise.</summary>
    public IReadOnlyList<string> Hosts() =>
        WebhookHosts is { Length: > 0 } hosts
            ? hosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [$"agent-metrics-operator.{Namespace}.svc", $"agent-metrics-operator.{Namespace}.svc.cluster.local"];

    /// <summary>What the injection puts into pods, from these settings.</summary>
    public SidecarOptions ToSidecarOptions()
    {
        if (SidecarMode is not ("scrape" or "push"))
        {
            throw new ArgumentException($"--sidecar-mode must be scrape or push, got \"{SidecarMode}\"");
        }

        if (SidecarMode == "push" && !Uri.TryCreate(RemoteWriteUrl, UriKind.Absolute, out _))
        {
            throw new ArgumentException("--remote-write-url must be an absolute http(s) address when --sidecar-mode is push");
        }

        if (RemoteWriteHeaders is { Length: > 0 } headers
            && headers.Split(',', StringSplitOptions.TrimEntries).FirstOrDefault(pair => !HeaderPair().IsMatch(pair)) is { } badHeader)
        {
            throw new ArgumentException($"--remote-write-headers takes Name=value pairs with a header name of letters, digits and '-', got \"{badHeader}\"");
        }

        if (RemoteWriteBearerTokenSecret is { Length: > 0 } secret && !SecretName().IsMatch(secret))
        {
            throw new ArgumentException($"--remote-write-bearer-token-secret must be a Secret's name (lower-case letters, digits, '-' and '.'), got \"{secret}\"");
        }

        if (SidecarPushInterval is { Length: > 0 } pushInterval)
        {
            var rule = Api.Validation.PrometheusDuration.TryParse(pushInterval, out var parsed)
                ? Api.Validation.PushLimits.Check("--sidecar-push-interval", parsed)
                : $"--sidecar-push-interval must be a duration such as 100ms or 1s, got \"{pushInterval}\"";
            if (rule is not null)
            {
                throw new ArgumentException(rule);
            }
        }

        if (WebhookCertificates is not ("self" or "files"))
        {
            throw new ArgumentException($"--webhook-certificates must be self or files, got \"{WebhookCertificates}\"");
        }

        if (NativeSidecar is not ("auto" or "true" or "false"))
        {
            throw new ArgumentException($"--native-sidecar must be auto, true or false, got \"{NativeSidecar}\"");
        }

        var (requests, limits) = SidecarOptions.ParseResources(SidecarResources);
        return new SidecarOptions
        {
            Image = SidecarImage,
            Requests = requests,
            Limits = limits,
            Mode = SidecarMode,
            RemoteWriteUrl = RemoteWriteUrl,
            RemoteWriteHeaders = RemoteWriteHeaders,
            RemoteWriteBearerTokenSecret = RemoteWriteBearerTokenSecret,
            PushInterval = SidecarPushInterval,
            OperatorUrl = SidecarOperatorUrl is { Length: > 0 } url ? url : $"https://agent-metrics-operator.{Namespace}.svc:443",
        };
    }

    /// <summary>How long a definitions stream may be quiet before a heartbeat; shorter only in tests.</summary>
    internal TimeSpan StreamHeartbeat { get; init; } = Api.Streaming.DefinitionStream.HeartbeatInterval;

    /// <summary>The rendering options these settings describe.</summary>
    public OutputOptions ToOutputOptions() => OutputOptions.Parse(Output, SelectorLabels);

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9-]+=[^,]+$")]
    private static partial System.Text.RegularExpressions.Regex HeaderPair();

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex SecretName();
}
