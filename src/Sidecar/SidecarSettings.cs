using System.Globalization;
using AgentMetrics.Api;
using AgentMetrics.Api.Validation;
using AgentMetrics.Sidecar.Delivery;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar;

/// <summary>
/// The sidecar's configuration, from the command line (<c>--key=value</c>) or the environment
/// (<c>AGENTMETRICS_AGENT_VERSION</c> for <c>--agent-version</c>); the operator's injection sets the identity from the downward API.
/// </summary>
public sealed record SidecarSettings
{
    /// <summary>Every setting: its flag, the configuration key, and what it is for (the --help text).</summary>
    public static readonly IReadOnlyList<(string Flag, string Key, string Help)> All =
    [
        (SidecarFlags.IngestListen, "IngestListen", "address of the events and OTLP API; loopback only (default http://127.0.0.1:4318)"),
        (SidecarFlags.GrpcListen, "GrpcListen", "address of OTLP/gRPC; loopback only, empty to turn it off (default http://127.0.0.1:4317)"),
        (SidecarFlags.MetricsListen, "MetricsListen", "address of /metrics, /healthz and /readyz (default http://0.0.0.0:9464)"),
        (SidecarFlags.Mode, "Mode", "scrape (Prometheus scrapes /metrics) or push (remote write) (default scrape)"),
        (SidecarFlags.RemoteWriteUrl, "RemoteWriteUrl", "remote-write endpoint; required in push mode"),
        (SidecarFlags.PushInterval, "PushInterval", "how often changed series are pushed, at most 250ms (default 100ms)"),
        ("--resend-interval", "ResendInterval", "how often every series is pushed even when unchanged (default 60s)"),
        (SidecarFlags.RemoteWriteHeaders, "RemoteWriteHeaders", "extra headers as Name=value[,Name=value] (X-Scope-OrgID=team-a)"),
        (SidecarFlags.RemoteWriteBearerTokenFile, "RemoteWriteBearerTokenFile", "file holding a bearer token for the remote-write endpoint"),
        (SidecarFlags.Namespace, "Namespace", "the pod's namespace (identity label namespace)"),
        (SidecarFlags.Pod, "Pod", "the pod's name (identity label pod)"),
        (SidecarFlags.Agent, "Agent", "the agent's name (identity label agent)"),
        (SidecarFlags.AgentVersion, "AgentVersion", "the agent's version (identity label agent_version)"),
        ("--max-metrics", "MaxMetrics", "most metrics per agent (default 1000)"),
        ("--series-limit", "SeriesLimit", "series limit of built-in and passed-through OTLP metrics; custom metrics take spec.seriesLimit (default 1000)"),
        ("--max-series", "MaxSeries", "most series in all (default 50000)"),
        ("--max-label-value-length", "MaxLabelValueLength", "label values are cut to this many characters (default 256)"),
        ("--max-body-bytes", "MaxBodyBytes", "largest request body the API takes (default 4194304)"),
        ("--metrics-compression", "MetricsCompression", "gzip: /metrics is gzip-compressed when the scraper accepts it, as Prometheus does; none: never (default gzip)"),
        ("--request-timeout", "RequestTimeout", "how long a request's line, headers and body may take to arrive, from its first byte; more gets 408 (default 30s)"),
        (SidecarFlags.OperatorUrl, "OperatorUrl", "the operator's HTTPS base address for the definitions stream; empty: built-in metrics only"),
        ("--operator-ca-file", "OperatorCaFile", "CA bundle that signs the operator's serving certificate"),
        (SidecarFlags.OperatorCa, "OperatorCa", "the same CA bundle as PEM text (the injection sets AGENTMETRICS_OPERATOR_CA)"),
        (SidecarFlags.TokenFile, "TokenFile", "the pod's service-account token (default /var/run/secrets/kubernetes.io/serviceaccount/token)"),
        ("--promote-resource-attributes", "PromoteResourceAttributes", "OTLP resource attributes that become labels, comma-separated"),
    ];

    public string IngestListen { get; init; } = "http://127.0.0.1:4318";

    /// <summary>Where OTLP/gRPC listens, or null when it is turned off.</summary>
    public string? GrpcListen { get; init; } = "http://127.0.0.1:4317";

    public string MetricsListen { get; init; } = "http://0.0.0.0:9464";

    public string Mode { get; init; } = "scrape";

    public string? RemoteWriteUrl { get; init; }

    public TimeSpan PushInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ResendInterval { get; init; } = TimeSpan.FromSeconds(60);

    public IReadOnlyDictionary<string, string> RemoteWriteHeaders { get; init; } = new Dictionary<string, string>();

    public string? RemoteWriteBearerTokenFile { get; init; }

    public string Namespace { get; init; } = "";

    public string Pod { get; init; } = "";

    public string Agent { get; init; } = "";

    public string AgentVersion { get; init; } = "";

    public MetricLimits Limits { get; init; } = new();

    public int MaxBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>gzip or none: whether /metrics answers in gzip to a scraper that accepts it.</summary>
    public string MetricsCompression { get; init; } = "gzip";

    /// <summary>How long a whole request may take to arrive, on either port.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public string? OperatorUrl { get; init; }

    public string? OperatorCaFile { get; init; }

    /// <summary>The operator's CA bundle as PEM text, for when no file holds it.</summary>
    public string? OperatorCa { get; init; }

    public string TokenFile { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount/token";

    public IReadOnlyList<string> PromoteResourceAttributes { get; init; } = OtlpRecorder.DefaultPromotedResourceAttributes;

    /// <summary>Whether push mode is on.</summary>
    public bool Push => Mode == "push";

    /// <summary>The identity labels every series carries.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Identity =>
        [new("namespace", Namespace), new("pod", Pod), new("agent", Agent), new("agent_version", AgentVersion)];

    /// <summary>Push options; only in push mode.</summary>
    public PushOptions ToPushOptions() => new()
    {
        Url = new Uri(RemoteWriteUrl!),
        Interval = PushInterval,
        ResendInterval = ResendInterval,
        Headers = RemoteWriteHeaders,
        BearerTokenFile = RemoteWriteBearerTokenFile,
    };

    /// <summary>The environment variable of a setting: <c>--agent-version</c> is read from <c>AGENTMETRICS_AGENT_VERSION</c>.</summary>
    public static string EnvironmentVariable(string flag) => SidecarFlags.EnvironmentVariable(flag);

    /// <summary>Reads and checks the settings; an <see cref="ArgumentException"/> names the first bad one.</summary>
    public static SidecarSettings Read(string[] args)
    {
        var environment = new Dictionary<string, string?>();
        foreach (var (flag, key, _) in All)
        {
            if (Environment.GetEnvironmentVariable(EnvironmentVariable(flag)) is { } value)
            {
                environment[key] = value;
            }
        }

        var configuration = CommandLine(args, environment);
        var defaults = new SidecarSettings();
        string? Get(string key) => configuration.GetValueOrDefault(key) is { Length: > 0 } value ? value : null;

        var settings = new SidecarSettings
        {
            IngestListen = Get("IngestListen") ?? defaults.IngestListen,
            // Set but empty turns OTLP/gRPC off.
            GrpcListen = configuration.TryGetValue("GrpcListen", out var grpc) ? (grpc is { Length: > 0 } ? grpc : null) : defaults.GrpcListen,
            MetricsListen = Get("MetricsListen") ?? defaults.MetricsListen,
            Mode = Get("Mode") ?? defaults.Mode,
            RemoteWriteUrl = Get("RemoteWriteUrl"),
            PushInterval = Duration("--push-interval", Get("PushInterval")) ?? defaults.PushInterval,
            ResendInterval = Duration("--resend-interval", Get("ResendInterval")) ?? defaults.ResendInterval,
            RemoteWriteHeaders = Pairs("--remote-write-headers", Get("RemoteWriteHeaders")),
            RemoteWriteBearerTokenFile = Get("RemoteWriteBearerTokenFile"),
            Namespace = Get("Namespace") ?? "",
            Pod = Get("Pod") ?? "",
            Agent = Get("Agent") ?? "",
            AgentVersion = Get("AgentVersion") ?? "",
            Limits = new MetricLimits
            {
                MaxMetrics = Count("--max-metrics", Get("MaxMetrics")) ?? defaults.Limits.MaxMetrics,
                DefaultSeriesLimit = Count("--series-limit", Get("SeriesLimit")) ?? defaults.Limits.DefaultSeriesLimit,
                MaxSeries = Count("--max-series", Get("MaxSeries")) ?? defaults.Limits.MaxSeries,
                MaxLabelValueLength = Count("--max-label-value-length", Get("MaxLabelValueLength")) ?? defaults.Limits.MaxLabelValueLength,
            },
            MaxBodyBytes = Count("--max-body-bytes", Get("MaxBodyBytes")) ?? defaults.MaxBodyBytes,
            RequestTimeout = Duration("--request-timeout", Get("RequestTimeout")) ?? defaults.RequestTimeout,
            MetricsCompression = Get("MetricsCompression") ?? defaults.MetricsCompression,
            OperatorUrl = Get("OperatorUrl"),
            OperatorCaFile = Get("OperatorCaFile"),
            OperatorCa = Get("OperatorCa"),
            TokenFile = Get("TokenFile") ?? defaults.TokenFile,
            PromoteResourceAttributes = Get("PromoteResourceAttributes") is { } promoted
                ? promoted.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : defaults.PromoteResourceAttributes,
        };
        settings.Check();
        return settings;
    }

    private void Check()
    {
        if (OperatorCa is not null)
        {
            var authorities = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            try
            {
                authorities.ImportFromPem(OperatorCa);
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new ArgumentException($"--operator-ca must hold PEM certificates: {e.Message}");
            }

            if (authorities.Count == 0)
            {
                throw new ArgumentException("--operator-ca must hold at least one PEM certificate");
            }
        }

        if (Mode is not ("scrape" or "push"))
        {
            throw new ArgumentException($"--mode must be scrape or push, got \"{Mode}\"");
        }

        if (MetricsCompression is not ("gzip" or "none"))
        {
            throw new ArgumentException($"--metrics-compression must be gzip or none, got \"{MetricsCompression}\"");
        }

        if (Push && !Uri.TryCreate(RemoteWriteUrl, UriKind.Absolute, out _))
        {
            throw new ArgumentException("--remote-write-url must be an absolute http(s) address in push mode");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(10))
        {
            throw new ArgumentException($"--request-timeout must be more than 0 and at most 10m, got {PrometheusDuration.Format(RequestTimeout)}");
        }

        if (PushLimits.Check("--push-interval", PushInterval) is { } intervalRule)
        {
            throw new ArgumentException(intervalRule);
        }

        if (!Uri.TryCreate(IngestListen, UriKind.Absolute, out var ingest) || !System.Net.IPAddress.TryParse(ingest.Host, out var address) || !System.Net.IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"--ingest-listen must be an http address on a loopback IP (127.0.0.1 or [::1]), got \"{IngestListen}\"");
        }

        if (!Uri.TryCreate(MetricsListen, UriKind.Absolute, out var metrics) || !System.Net.IPAddress.TryParse(metrics.Host, out _))
        {
            throw new ArgumentException($"--metrics-listen must be an http address on an IP, got \"{MetricsListen}\"");
        }

        if (ingest.Port == metrics.Port)
        {
            throw new ArgumentException($"--ingest-listen and --metrics-listen must use different ports, both use {ingest.Port}");
        }

        if (GrpcListen is not null)
        {
            if (!Uri.TryCreate(GrpcListen, UriKind.Absolute, out var grpc) || grpc.Scheme != "http"
                || !System.Net.IPAddress.TryParse(grpc.Host.Trim('[', ']'), out var grpcAddress) || !System.Net.IPAddress.IsLoopback(grpcAddress))
            {
                throw new ArgumentException($"--grpc-listen must be an http address on a loopback IP (127.0.0.1 or [::1]), or empty, got \"{GrpcListen}\"");
            }

            if (grpc.Port == ingest.Port || grpc.Port == metrics.Port)
            {
                throw new ArgumentException($"--grpc-listen must use a port of its own, not {grpc.Port}");
            }
        }

        if (OperatorUrl is not null && (!Uri.TryCreate(OperatorUrl, UriKind.Absolute, out var op) || op.Scheme != "https"))
        {
            throw new ArgumentException($"--operator-url must be an https address, got \"{OperatorUrl}\"");
        }
    }

    /// <summary>Flags as <c>--flag=value</c> or <c>--flag value</c>, over the environment's values; an unknown flag is an error.</summary>
    private static Dictionary<string, string?> CommandLine(string[] args, Dictionary<string, string?> values)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var flag = equals < 0 ? arg : arg[..equals];
            var setting = All.FirstOrDefault(s => s.Flag == flag);
            if (setting.Key is null)
            {
                throw new ArgumentException($"unknown argument \"{arg}\"; --help lists the flags");
            }

            if (equals >= 0)
            {
                values[setting.Key] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Length)
            {
                values[setting.Key] = args[++i];
            }
            else
            {
                throw new ArgumentException($"{flag} needs a value");
            }
        }

        return values;
    }

    private static TimeSpan? Duration(string flag, string? text)
    {
        if (text is null)
        {
            return null;
        }

        return PrometheusDuration.TryParse(text, out var duration)
            ? duration
            : throw new ArgumentException($"{flag} must be a duration such as 100ms or 1m, got \"{text}\"");
    }

    private static int? Count(string flag, string? text)
    {
        if (text is null)
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0
            ? count
            : throw new ArgumentException($"{flag} must be a whole number above 0, got \"{text}\"");
    }

    private static Dictionary<string, string> Pairs(string flag, string? text)
    {
        var pairs = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = pair.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0)
            {
                throw new ArgumentException($"{flag} takes Name=value pairs, got \"{pair}\"");
            }

            pairs[parts[0]] = parts[1];
        }

        return pairs;
    }
}
