using System.CommandLine;
using System.Globalization;

namespace AgentMetrics.Operator;

/// <summary>
/// The operator's command line, on System.CommandLine. Every setting is a flag and an environment
/// variable (<c>AGENTMETRICS_</c> and the flag's name in upper case, '-' as '_': <c>--sidecar-mode</c>
/// is <c>AGENTMETRICS_SIDECAR_MODE</c>, and the earlier <c>AGENTMETRICS_SIDECARMODE</c> is still read); a flag wins over the environment, and an empty value is no
/// value. <c>--help</c> lists each with its variable and default. An unknown flag, or a bad value from
/// either place, ends the process with exit code 2 and one line naming the flag (or variable) and the
/// rule, before anything starts.
/// </summary>
public static class OperatorCommandLine
{
    /// <summary>The program's name, in messages.</summary>
    public const string Program = "agent-metrics-operator";

    private static readonly OperatorSettings Defaults = new();

    private static readonly Setting[] All =
    [
        new("--kubeconfig", "a kubeconfig to use", "$KUBECONFIG, ~/.kube/config, or the pod's service account", (s, v) => s with { Kubeconfig = v }),
        new("--context", "the kubeconfig context to use", "the kubeconfig's current-context", (s, v) => s with { Context = v }),
        new("--namespace", "the namespace the operator runs in; its leader-election Lease lives there", Defaults.Namespace, (s, v) => s with { Namespace = v }),
        new("--identity", "this replica's identity in leader election (the pod's name in a cluster)", "the host name", (s, v) => s with { Identity = v }),
        new("--output", "what alert rules and scrape wiring are written as: prometheus-operator (PrometheusRule, PodMonitor) or configmaps (rule files and a scrape config for a Prometheus configured by hand)", Defaults.Output, (s, v) => s with { Output = v }),
        new("--selector-labels", "labels for the Prometheus's rule and pod-monitor selectors, as key=value[,key=value]", Defaults.SelectorLabels, (s, v) => s with { SelectorLabels = v }),
        new("--listen", "HTTPS address of the webhooks, the definitions stream, the health endpoints and /metrics", Defaults.Listen, (s, v) => s with { Listen = HttpsAddress("--listen", v) }),
        new("--webhook-certificates", "self (the operator keeps its own CA and certificate in a Secret) or files (read from the files below, as cert-manager writes them)", Defaults.WebhookCertificates, (s, v) => s with { WebhookCertificates = v }),
        new("--webhook-cert-file", "in files mode, the serving certificate", Defaults.WebhookCertFile, (s, v) => s with { WebhookCertFile = v }),
        new("--webhook-key-file", "in files mode, the serving certificate's key", Defaults.WebhookKeyFile, (s, v) => s with { WebhookKeyFile = v }),
        new("--webhook-ca-file", "in files mode, the CA bundle that signs the certificate (cert-manager's ca.crt), given to injected sidecars", null, (s, v) => s with { WebhookCaFile = v }),
        new("--webhook-secret", "in self mode, the Secret in --namespace holding the CA and the serving certificate", Defaults.WebhookSecret, (s, v) => s with { WebhookSecret = v }),
        new("--webhook-hosts", "in self mode, the names the serving certificate is for, comma-separated", "the Service agent-metrics-operator's DNS names", (s, v) => s with { WebhookHosts = v }),
        new("--webhook-configurations", "in self mode, the mutating and validating webhook configurations whose caBundle is kept current", Defaults.WebhookConfigurations, (s, v) => s with { WebhookConfigurations = v }),
        new("--enable-agent-metrics", "true or false: the feature's state while the ConfigMap agent-metrics-config does not set it", "true", (s, v) => s with { EnableAgentMetrics = Boolean("--enable-agent-metrics", v) }),
        new("--excluded-namespaces", "namespaces never injected besides kube-system, kube-public and the operator's own, comma-separated", null, (s, v) => s with { ExcludedNamespaces = v }),
        new("--sidecar-image", "the sidecar's image", Defaults.SidecarImage, (s, v) => s with { SidecarImage = v }),
        new("--sidecar-resources", "the sidecar's requests and limits, as requests.<resource>=<quantity>[,limits.<resource>=<quantity>]", Defaults.SidecarResources, (s, v) => s with { SidecarResources = v }),
        new("--sidecar-mode", "how injected sidecars deliver: scrape (Prometheus scrapes them) or push (remote write)", Defaults.SidecarMode, (s, v) => s with { SidecarMode = v }),
        new("--remote-write-url", "the remote-write endpoint injected sidecars push to; required with --sidecar-mode=push", null, (s, v) => s with { RemoteWriteUrl = v }),
        new("--remote-write-headers", "extra headers injected sidecars send with each push, as Name=value[,Name=value] (X-Scope-OrgID=team-a)", null, (s, v) => s with { RemoteWriteHeaders = v }),
        new("--remote-write-bearer-token-secret", "a Secret in each agent's namespace whose key token is the remote-write bearer token", null, (s, v) => s with { RemoteWriteBearerTokenSecret = v }),
        new("--sidecar-push-interval", "how often injected sidecars push in push mode", "the sidecar's, 100ms", (s, v) => s with { SidecarPushInterval = v }),
        new("--sidecar-operator-url", "where injected sidecars reach the definitions stream", "https://agent-metrics-operator.<namespace>.svc:443", (s, v) => s with { SidecarOperatorUrl = v }),
        new("--native-sidecar", "auto (by the API server's version), true or false: inject the sidecar as a sidecar init container", Defaults.NativeSidecar, (s, v) => s with { NativeSidecar = v }),
        new("--dashboard-folder", "the Grafana folder the dashboards go in", Defaults.DashboardFolder, (s, v) => s with { DashboardFolder = v }),
        new("--dashboard-folder-annotation", "the annotation Grafana's dashboard sidecar reads the folder from (its folderAnnotation)", Defaults.DashboardFolderAnnotation, (s, v) => s with { DashboardFolderAnnotation = v }),
    ];

    /// <summary>Every flag, in the order --help lists them.</summary>
    public static IEnumerable<string> Flags => All.Select(s => s.Flag);

    /// <summary>The environment variable of a flag: <c>--sidecar-mode</c> is <c>AGENTMETRICS_SIDECAR_MODE</c>.</summary>
    public static string EnvironmentVariable(string flag) =>
        "AGENTMETRICS_" + flag[2..].Replace('-', '_').ToUpperInvariant();

    /// <summary>The spelling earlier releases read, without the '_' between words (AGENTMETRICS_SIDECARMODE); still read.</summary>
    private static string EarlierVariable(string flag) => "AGENTMETRICS_" + flag[2..].Replace("-", "", StringComparison.Ordinal).ToUpperInvariant();

    /// <summary>
    /// Reads the settings from <paramref name="args"/> and <paramref name="environment"/> and checks them
    /// all. Returns null when the process should end instead, with <paramref name="exitCode"/>: 0 after
    /// --help or --version, 2 after one line on <paramref name="error"/> naming what is wrong.
    /// </summary>
    public static OperatorSettings? Parse(
        IReadOnlyList<string> args, Func<string, string?> environment, TextWriter output, TextWriter error, out int exitCode)
    {
        var root = new RootCommand("The agent-metrics operator: injects the metrics sidecar into opted-in agent pods, "
            + "turns AgentMetricDefinitions and AlertThresholds into Prometheus rules and Grafana dashboards, "
            + "and serves the sidecars' definitions stream.");
        var options = All.Select(setting => (Setting: setting, Option: new Option<string>(setting.Flag)
        {
            Description = setting.Describe(),
            HelpName = "value",
            Arity = ArgumentArity.ExactlyOne,
        })).ToList();
        foreach (var (_, option) in options)
        {
            root.Options.Add(option);
        }

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return Refuse(error, parsed.Errors[0].Message, out exitCode);
        }

        if (parsed.Action is not null)
        {
            exitCode = parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
            return null;
        }

        var settings = Defaults;
        var fromEnvironment = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (setting, option) in options)
        {
            var value = parsed.GetValue(option);
            if (value is not { Length: > 0 }
                && (environment(EnvironmentVariable(setting.Flag)) ?? environment(EarlierVariable(setting.Flag))) is { Length: > 0 } variable)
            {
                value = variable;
                fromEnvironment.Add(setting.Flag);
            }

            if (value is not { Length: > 0 })
            {
                continue;
            }

            try
            {
                settings = setting.Set(settings, value);
            }
            catch (ArgumentException e)
            {
                return Refuse(error, Source(e.Message, fromEnvironment), out exitCode);
            }
        }

        try
        {
            settings.ToOutputOptions();
            settings.ToSidecarOptions();
            ExistingFile("--kubeconfig", settings.Kubeconfig);
            if (settings.WebhookCertificates == "files")
            {
                ExistingFile("--webhook-cert-file", settings.WebhookCertFile);
                ExistingFile("--webhook-key-file", settings.WebhookKeyFile);
                ExistingFile("--webhook-ca-file", settings.WebhookCaFile);
            }
        }
        catch (ArgumentException e)
        {
            return Refuse(error, Source(e.Message, fromEnvironment), out exitCode);
        }

        exitCode = 0;
        return settings;
    }

    private static OperatorSettings? Refuse(TextWriter error, string message, out int exitCode)
    {
        error.WriteLine($"{Program}: {string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}");
        exitCode = 2;
        return null;
    }

    /// <summary>Names the variable in a message about a flag whose value came from the environment.</summary>
    private static string Source(string message, HashSet<string> fromEnvironment)
    {
        var flag = fromEnvironment.Where(f => message.StartsWith(f + " ", StringComparison.Ordinal)).MaxBy(f => f.Length);
        return flag is null ? message : $"{message} (from {EnvironmentVariable(flag)})";
    }

    private static void ExistingFile(string flag, string? path)
    {
        if (path is { Length: > 0 } && !File.Exists(path))
        {
            throw new ArgumentException($"{flag} must name a file that exists, got \"{path}\"");
        }
    }

    private static bool Boolean(string flag, string value) =>
        bool.TryParse(value, out var parsed) ? parsed : throw new ArgumentException($"{flag} must be true or false, got \"{value}\"");

    private static string HttpsAddress(string flag, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps && uri.AbsolutePath == "/"
            ? value
            : throw new ArgumentException($"{flag} must be an https:// address and port such as https://0.0.0.0:9443, got \"{value}\"");

    private sealed record Setting(string Flag, string Help, string? Default, Func<OperatorSettings, string, OperatorSettings> Set)
    {
        public string Describe() => string.Create(
            CultureInfo.InvariantCulture,
            $"{Help} [env: {EnvironmentVariable(Flag)}]{(Default is { Length: > 0 } text ? $" [default: {text}]" : "")}");
    }
}
