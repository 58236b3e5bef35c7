using System.Text.Json.Nodes;
using AgentMetrics.Api;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator.Injection;

/// <summary>What the injection decided for one pod.</summary>
public enum InjectionOutcome
{
    /// <summary>The pod gets the sidecar.</summary>
    Injected,

    /// <summary>The pod is admitted without the sidecar, annotated with the reason (a port collision).</summary>
    Skipped,

    /// <summary>The pod is not the injection's business, or has it already: it is admitted as it came.</summary>
    Untouched,
}

/// <summary>The decision, and the pod as it should be stored when it changes.</summary>
public sealed record InjectionResult(InjectionOutcome Outcome, string Reason, JsonObject? Pod = null);

/// <summary>
/// Turns an agent pod into the same pod with the metrics sidecar: a pure function of the pod and the
/// options, so it can be tested without a cluster. Only structure built here enters the spec: values
/// read from the pod (label values, annotation values) are never parsed, only copied as strings.
/// </summary>
public static class PodInjector
{
    /// <summary>The variable the injection gives each agent container with the events API's address.</summary>
    public const string EventsEndpointVariable = "AGENTMETRICS_EVENTS_ENDPOINT";

    /// <summary>The OpenTelemetry SDKs' standard variable for where OTLP goes.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The OTLP protocol of every OpenTelemetry SDK: grpc, http/protobuf or http/json.</summary>
    public const string OtlpProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";

    /// <summary>
    /// Decides for <paramref name="pod"/>, which is not modified. <paramref name="operatorCa"/> is the CA bundle the
    /// sidecar trusts the operator's definitions stream by; <paramref name="nativeSidecar"/> says the API server runs
    /// sidecar init containers (1.29 and later).
    /// </summary>
    public static InjectionResult Decide(JsonObject pod, SidecarOptions options, string? operatorCa, bool nativeSidecar)
    {
        var metadata = pod["metadata"] as JsonObject;
        var labels = metadata?["labels"] as JsonObject;
        var annotations = metadata?["annotations"] as JsonObject;
        var spec = pod["spec"] as JsonObject;
        if (spec is null)
        {
            return new(InjectionOutcome.Untouched, "the pod has no spec");
        }

        if (annotations?[Names.InjectionStatusAnnotation] is not null)
        {
            return new(InjectionOutcome.Untouched, $"the pod already carries the {Names.InjectionStatusAnnotation} annotation");
        }

        var containers = Containers(spec, "containers");
        if (containers.Count == 0)
        {
            return new(InjectionOutcome.Untouched, "the pod has no containers");
        }

        var initContainers = Containers(spec, "initContainers");
        if (Text(labels?[Names.InjectLabel]) is "disabled" or "false")
        {
            return new(InjectionOutcome.Untouched, $"the pod opts out with the label {Names.InjectLabel}");
        }

        if (Text(annotations?[Names.InjectAnnotation]) is "disabled" or "false")
        {
            return new(InjectionOutcome.Untouched, $"the pod opts out with the annotation {Names.InjectAnnotation}");
        }

        var result = (JsonObject)pod.DeepClone();
        var resultMetadata = Child(result, "metadata");
        var resultAnnotations = Child(resultMetadata, "annotations");
        // An opted-in pod the sidecar cannot join is admitted without it, and says why.
        var skipped = containers.Concat(initContainers).Any(c => Text(c["name"]) == Names.SidecarContainer)
            ? $"the pod already has a container named {Names.SidecarContainer}"
            : spec["hostNetwork"]?.GetValueKind() == System.Text.Json.JsonValueKind.True
                ? "the pod uses the host's network, where the sidecar's ports are not its own"
                : Collision(containers.Concat(initContainers), options);
        if (skipped is not null)
        {
            resultAnnotations[Names.InjectionStatusAnnotation] = "skipped";
            resultAnnotations[Names.InjectionMessageAnnotation] = skipped;
            return new(InjectionOutcome.Skipped, skipped, result);
        }

        resultAnnotations[Names.InjectionStatusAnnotation] = "injected";
        Child(resultMetadata, "labels")[Names.InjectedLabel] = "true";
        var resultSpec = Child(result, "spec");
        var sidecar = Sidecar(options, labels, Text(containers.FirstOrDefault()?["name"]) ?? "agent", operatorCa);
        if (nativeSidecar)
        {
            // First, so init containers after it can already send events, and so it is up before the agent starts.
            sidecar["restartPolicy"] = "Always";
            var inits = resultSpec["initContainers"] as JsonArray ?? [];
            inits.Insert(0, sidecar);
            resultSpec["initContainers"] = inits;
        }
        else
        {
            ((JsonArray)resultSpec["containers"]!).Add(sidecar);
        }

        var volumes = resultSpec["volumes"] as JsonArray ?? [];
        volumes.Add(new JsonObject
        {
            ["name"] = Names.SidecarTokenVolume,
            ["projected"] = new JsonObject
            {
                ["sources"] = new JsonArray(new JsonObject
                {
                    ["serviceAccountToken"] = new JsonObject { ["path"] = "token", ["expirationSeconds"] = SidecarOptions.TokenSeconds },
                }),
            },
        });
        volumes.Add(new JsonObject { ["name"] = Names.SidecarTmpVolume, ["emptyDir"] = new JsonObject { ["medium"] = "Memory", ["sizeLimit"] = "16Mi" } });
        if (PushesWithToken(options))
        {
            // Not optional: without the Secret the pod waits, and its events name the missing Secret.
            volumes.Add(new JsonObject
            {
                ["name"] = Names.SidecarRemoteWriteTokenVolume,
                ["secret"] = new JsonObject
                {
                    ["secretName"] = options.RemoteWriteBearerTokenSecret,
                    ["items"] = new JsonArray(new JsonObject { ["key"] = "token", ["path"] = "token" }),
                },
            });
        }

        resultSpec["volumes"] = volumes;

        foreach (var container in Containers(resultSpec, "containers").Where(c => Text(c["name"]) != Names.SidecarContainer))
        {
            var env = container["env"] as JsonArray ?? [];
            // SDKs differ in their default protocol (gRPC for .NET and Python, HTTP for JavaScript): the
            // endpoint given is the sidecar's port for the protocol the container asks for, HTTP unless it says grpc.
            var grpc = string.Equals(ValueOf(env, OtlpProtocolVariable), "grpc", StringComparison.OrdinalIgnoreCase);
            AddUnlessSet(env, OtlpProtocolVariable, "http/protobuf");
            AddUnlessSet(env, OtlpEndpointVariable, $"http://127.0.0.1:{(grpc ? options.GrpcPort : options.IngestPort)}");
            AddUnlessSet(env, EventsEndpointVariable, $"http://127.0.0.1:{options.IngestPort}/v1/events");
            container["env"] = env;
        }

        return new(InjectionOutcome.Injected, nativeSidecar ? "injected as a sidecar init container" : "injected as a container", result);
    }

    /// <summary>The sidecar container: identity from the downward API, restricted-profile security, probes and resources.</summary>
    private static JsonObject Sidecar(SidecarOptions options, JsonObject? labels, string fallbackAgent, string? operatorCa)
    {
        var args = new JsonArray(
            SidecarFlags.Argument(SidecarFlags.Mode, options.Mode),
            SidecarFlags.Argument(SidecarFlags.IngestListen, $"http://127.0.0.1:{options.IngestPort}"),
            SidecarFlags.Argument(SidecarFlags.GrpcListen, $"http://127.0.0.1:{options.GrpcPort}"),
            SidecarFlags.Argument(SidecarFlags.MetricsListen, $"http://0.0.0.0:{options.MetricsPort}"));
        if (options.Mode == "push" && options.RemoteWriteUrl is { Length: > 0 } remoteWrite)
        {
            args.Add(SidecarFlags.Argument(SidecarFlags.RemoteWriteUrl, remoteWrite));
            if (options.RemoteWriteHeaders is { Length: > 0 } headers)
            {
                args.Add(SidecarFlags.Argument(SidecarFlags.RemoteWriteHeaders, headers));
            }

            if (options.RemoteWriteBearerTokenSecret is { Length: > 0 })
            {
                args.Add(SidecarFlags.Argument(SidecarFlags.RemoteWriteBearerTokenFile, $"{SidecarOptions.RemoteWriteTokenDirectory}/token"));
            }

            if (options.PushInterval is { Length: > 0 } interval)
            {
                args.Add(SidecarFlags.Argument(SidecarFlags.PushInterval, interval));
            }
        }

        var env = new JsonArray(
            FieldRef(SidecarFlags.EnvironmentVariable(SidecarFlags.Namespace), "metadata.namespace"),
            FieldRef(SidecarFlags.EnvironmentVariable(SidecarFlags.Pod), "metadata.name"),
            LabelOrValue(SidecarFlags.EnvironmentVariable(SidecarFlags.Agent), labels, options.AgentLabels, fallbackAgent),
            LabelOrValue(SidecarFlags.EnvironmentVariable(SidecarFlags.AgentVersion), labels, options.AgentVersionLabels, ""));
        if (options.OperatorUrl is { Length: > 0 } operatorUrl)
        {
            args.Add(SidecarFlags.Argument(SidecarFlags.OperatorUrl, operatorUrl));
            args.Add(SidecarFlags.Argument(SidecarFlags.TokenFile, $"{SidecarOptions.TokenDirectory}/token"));
            if (operatorCa is { Length: > 0 })
            {
                env.Add(new JsonObject { ["name"] = SidecarFlags.EnvironmentVariable(SidecarFlags.OperatorCa), ["value"] = operatorCa });
            }
        }

        return new JsonObject
        {
            ["name"] = Names.SidecarContainer,
            ["image"] = options.Image,
            ["imagePullPolicy"] = options.ImagePullPolicy,
            ["args"] = args,
            ["env"] = env,
            ["ports"] = new JsonArray(new JsonObject { ["name"] = Names.MetricsPortName, ["containerPort"] = options.MetricsPort, ["protocol"] = "TCP" }),
            ["resources"] = new JsonObject { ["requests"] = Quantities(options.Requests), ["limits"] = Quantities(options.Limits) },
            ["securityContext"] = new JsonObject
            {
                ["runAsNonRoot"] = true,
                ["runAsUser"] = options.RunAsUser,
                ["runAsGroup"] = options.RunAsUser,
                ["allowPrivilegeEscalation"] = false,
                ["privileged"] = false,
                ["readOnlyRootFilesystem"] = true,
                ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
                ["seccompProfile"] = new JsonObject { ["type"] = "RuntimeDefault" },
            },
            ["readinessProbe"] = Probe("/readyz", options.MetricsPort, 1),
            ["livenessProbe"] = Probe("/healthz", options.MetricsPort, 10),
            ["volumeMounts"] = Mounts(options),
        };
    }

    private static JsonArray Mounts(SidecarOptions options)
    {
        var mounts = new JsonArray(
            new JsonObject { ["name"] = Names.SidecarTokenVolume, ["mountPath"] = SidecarOptions.TokenDirectory, ["readOnly"] = true },
            new JsonObject { ["name"] = Names.SidecarTmpVolume, ["mountPath"] = "/tmp" });
        if (PushesWithToken(options))
        {
            mounts.Add(new JsonObject { ["name"] = Names.SidecarRemoteWriteTokenVolume, ["mountPath"] = SidecarOptions.RemoteWriteTokenDirectory, ["readOnly"] = true });
        }

        return mounts;
    }

    private static bool PushesWithToken(SidecarOptions options) =>
        options.Mode == "push" && options.RemoteWriteUrl is { Length: > 0 } && options.RemoteWriteBearerTokenSecret is { Length: > 0 };

    /// <summary>The first declared port of any container that the sidecar also needs, described for people.</summary>
    private static string? Collision(IEnumerable<JsonObject> containers, SidecarOptions options)
    {
        foreach (var container in containers)
        {
            foreach (var port in (container["ports"] as JsonArray ?? []).OfType<JsonObject>())
            {
                if (port["containerPort"] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.Number
                    && long.TryParse(value.ToJsonString(), out var number)
                    && (number == options.IngestPort || number == options.GrpcPort || number == options.MetricsPort))
                {
                    return $"container {Text(container["name"])} declares port {number}, which the metrics sidecar needs "
                        + $"(ingest {options.IngestPort}, OTLP/gRPC {options.GrpcPort}, metrics {options.MetricsPort}); the pod was admitted without the sidecar";
                }
            }
        }

        return null;
    }

    private static JsonObject LabelOrValue(string name, JsonObject? labels, IReadOnlyList<string> keys, string fallback)
    {
        var key = keys.FirstOrDefault(k => labels?[k] is JsonValue);
        return key is null
            ? new JsonObject { ["name"] = name, ["value"] = fallback }
            : FieldRef(name, $"metadata.labels['{key}']");
    }

    private static JsonObject FieldRef(string name, string path) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["fieldPath"] = path } },
    };

    private static JsonObject Probe(string path, int port, int periodSeconds) => new()
    {
        ["httpGet"] = new JsonObject { ["path"] = path, ["port"] = port },
        ["periodSeconds"] = periodSeconds,
    };

    private static JsonObject Quantities(IReadOnlyDictionary<string, string> quantities) =>
        new(quantities.Select(q => KeyValuePair.Create(q.Key, (JsonNode?)q.Value)));

    private static string? ValueOf(JsonArray env, string name) =>
        env.OfType<JsonObject>().FirstOrDefault(e => Text(e["name"]) == name) is { } variable ? Text(variable["value"]) : null;

    private static void AddUnlessSet(JsonArray env, string name, string value)
    {
        if (!env.OfType<JsonObject>().Any(e => Text(e["name"]) == name))
        {
            env.Add(new JsonObject { ["name"] = name, ["value"] = value });
        }
    }

    private static List<JsonObject> Containers(JsonObject spec, string field) => [.. (spec[field] as JsonArray ?? []).OfType<JsonObject>()];

    private static JsonObject Child(JsonObject parent, string name)
    {
        if (parent[name] is JsonObject child)
        {
            return child;
        }

        child = [];
        parent[name] = child;
        return child;
    }

    private static string? Text(JsonNode? node) => JsonText.Of(node);
}
