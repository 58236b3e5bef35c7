using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Rendering;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>The injection as a pure function of the pod: what it adds, what it leaves alone, and the JSON Patch it becomes.</summary>
public sealed class PodInjectorTests
{
    private static readonly SidecarOptions Options = new() { Image = "example.invalid/sidecar:1", OperatorUrl = "https://operator.example:443" };

    public static TheoryData<string, string> Untouched => new()
    {
        { "injected before", """{"metadata":{"annotations":{"agentmetrics.io/injection":"injected"}},"spec":{"containers":[{"name":"agent"}]}}""" },
        { "skipped before", """{"metadata":{"annotations":{"agentmetrics.io/injection":"skipped"}},"spec":{"containers":[{"name":"agent"}]}}""" },
        { "opt-out label", """{"metadata":{"labels":{"agentmetrics.io/inject":"disabled"}},"spec":{"containers":[{"name":"agent"}]}}""" },
        { "opt-out annotation", """{"metadata":{"annotations":{"agentmetrics.io/inject":"false"}},"spec":{"containers":[{"name":"agent"}]}}""" },
        { "host network, opted out", """{"metadata":{"labels":{"agentmetrics.io/inject":"disabled"}},"spec":{"hostNetwork":true,"containers":[{"name":"agent"}]}}""" },
        { "no containers", """{"spec":{}}""" },
    };

    [Theory]
    [MemberData(nameof(Untouched))]
    public void PodsThatAreNotItsBusinessAreLeftAsTheyCame(string why, string pod)
    {
        var result = PodInjector.Decide(JsonNode.Parse(pod)!.AsObject(), Options, null, nativeSidecar: false);
        Assert.True(result.Outcome == InjectionOutcome.Untouched, why);
        Assert.Null(result.Pod);
    }

    public static TheoryData<string, string, string> Skipped => new()
    {
        { "sidecar present", """{"spec":{"containers":[{"name":"agent"},{"name":"agent-metrics-sidecar"}]}}""", "the pod already has a container named agent-metrics-sidecar" },
        { "native sidecar present", """{"spec":{"initContainers":[{"name":"agent-metrics-sidecar","restartPolicy":"Always"}],"containers":[{"name":"agent"}]}}""", "the pod already has a container named agent-metrics-sidecar" },
        { "host network", """{"spec":{"hostNetwork":true,"containers":[{"name":"agent"}]}}""", "the pod uses the host's network, where the sidecar's ports are not its own" },
    };

    [Theory]
    [MemberData(nameof(Skipped))]
    public void AnOptedInPodTheSidecarCannotJoinIsAdmittedWithoutItAndSaysWhy(string why, string pod, string message)
    {
        var result = PodInjector.Decide(JsonNode.Parse(pod)!.AsObject(), Options, null, nativeSidecar: false);

        Assert.True(result.Outcome == InjectionOutcome.Skipped, why);
        var annotations = result.Pod!["metadata"]!["annotations"]!;
        Assert.Equal("skipped", (string?)annotations["agentmetrics.io/injection"]);
        Assert.Equal(message, (string?)annotations["agentmetrics.io/injection-message"]);
        Assert.Equal(JsonNode.Parse(pod)!["spec"]!.ToJsonString(), result.Pod["spec"]!.ToJsonString());
    }

    [Fact]
    public void AnAgentPodGetsTheSidecarItsVolumesAndTheEndpointsInEachAgentContainer()
    {
        var pod = Pod();
        var before = pod.ToJsonString();
        var result = PodInjector.Decide(pod, Options, "CA PEM", nativeSidecar: false);

        Assert.Equal(InjectionOutcome.Injected, result.Outcome);
        Assert.Equal(before, pod.ToJsonString());
        var injected = result.Pod!;
        Assert.Equal("injected", (string?)injected["metadata"]!["annotations"]!["agentmetrics.io/injection"]);
        Assert.Equal("true", (string?)injected["metadata"]!["labels"]!["agentmetrics.io/injected"]);
        var containers = injected["spec"]!["containers"]!.AsArray();
        Assert.Equal(["agent", "tools", "shell", "agent-metrics-sidecar"], containers.Select(c => (string?)c!["name"]));
        Assert.Null(injected["spec"]!["initContainers"]);
        Assert.Equal(["data", "agent-metrics-token", "agent-metrics-tmp"], injected["spec"]!["volumes"]!.AsArray().Select(v => (string?)v!["name"]));

        var agent = Env(containers[0]!);
        Assert.Equal("http://127.0.0.1:4318", agent["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("http://127.0.0.1:4318/v1/events", agent[PodInjector.EventsEndpointVariable]);
        Assert.Equal("keep-me", agent["EXISTING"]);
        Assert.Equal("http://collector:4318", Env(containers[1]!)["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("http://127.0.0.1:4318", Env(containers[2]!)["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        var sidecar = containers[3]!;
        Assert.Equal("example.invalid/sidecar:1", (string?)sidecar["image"]);
        Assert.Contains("--operator-url=https://operator.example:443", sidecar["args"]!.AsArray().Select(a => (string?)a));
        var env = sidecar["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);
        Assert.Equal("metadata.namespace", (string?)env["AGENTMETRICS_NAMESPACE"]["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal("metadata.name", (string?)env["AGENTMETRICS_POD"]["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal("metadata.labels['app.kubernetes.io/name']", (string?)env["AGENTMETRICS_AGENT"]["valueFrom"]!["fieldRef"]!["fieldPath"]);
        Assert.Equal("", (string?)env["AGENTMETRICS_AGENT_VERSION"]["value"]);
        Assert.Equal("CA PEM", (string?)env["AGENTMETRICS_OPERATOR_CA"]["value"]);
        Assert.Equal(9464, (int)sidecar["ports"]![0]!["containerPort"]!);
        Assert.Equal("agent-metrics", (string?)sidecar["ports"]![0]!["name"]);
    }

    public static TheoryData<string, string?, string?, string, string> OtlpEnvironment => new()
    {
        { "nothing set: OTLP/HTTP, which every SDK reads from the protocol variable", null, null, "http/protobuf", "http://127.0.0.1:4318" },
        { "the container asks for gRPC: the gRPC port", "grpc", null, "grpc", "http://127.0.0.1:4317" },
        { "the container asks for HTTP/JSON: the HTTP port", "http/json", null, "http/json", "http://127.0.0.1:4318" },
        { "the container names its own endpoint: kept", "grpc", "http://collector:4317", "grpc", "http://collector:4317" },
    };

    [Theory]
    [MemberData(nameof(OtlpEnvironment))]
    public void EachAgentContainerIsPointedAtTheSidecarPortOfTheOtlpProtocolItUses(string why, string? protocol, string? endpoint, string expectedProtocol, string expectedEndpoint)
    {
        var pod = Pod();
        var env = pod["spec"]!["containers"]![0]!["env"]!.AsArray();
        if (protocol is not null)
        {
            env.Add(new JsonObject { ["name"] = "OTEL_EXPORTER_OTLP_PROTOCOL", ["value"] = protocol });
        }

        if (endpoint is not null)
        {
            env.Add(new JsonObject { ["name"] = "OTEL_EXPORTER_OTLP_ENDPOINT", ["value"] = endpoint });
        }

        var result = PodInjector.Decide(pod, Options, null, nativeSidecar: false);

        var agent = Env(result.Pod!["spec"]!["containers"]![0]!);
        Assert.True(expectedProtocol == agent["OTEL_EXPORTER_OTLP_PROTOCOL"], $"{why}: protocol {agent["OTEL_EXPORTER_OTLP_PROTOCOL"]}");
        Assert.True(expectedEndpoint == agent["OTEL_EXPORTER_OTLP_ENDPOINT"], $"{why}: endpoint {agent["OTEL_EXPORTER_OTLP_ENDPOINT"]}");
        var args = result.Pod["spec"]!["containers"]![3]!["args"]!.AsArray().Select(a => (string?)a);
        Assert.Contains("--grpc-listen=http://127.0.0.1:4317", args);
    }

    /// <summary>Each field of the restricted Pod Security Standard the sidecar must meet, by path in the container.</summary>
    public static TheoryData<string, string> Restricted => new()
    {
        { "securityContext.runAsNonRoot", "true" },
        { "securityContext.runAsUser", "65532" },
        { "securityContext.allowPrivilegeEscalation", "false" },
        { "securityContext.privileged", "false" },
        { "securityContext.capabilities.drop", """["ALL"]""" },
        { "securityContext.seccompProfile.type", "\"RuntimeDefault\"" },
        { "securityContext.readOnlyRootFilesystem", "true" },
    };

    [Theory]
    [MemberData(nameof(Restricted))]
    public void TheSidecarMeetsTheRestrictedProfile(string path, string expected)
    {
        var sidecar = PodInjector.Decide(Pod(), Options, null, nativeSidecar: false).Pod!["spec"]!["containers"]!.AsArray().Last()!;
        var node = path.Split('.').Aggregate((JsonNode?)sidecar, (n, part) => n?[part]);
        Assert.Equal(expected, node?.ToJsonString());
    }

    [Fact]
    public void InPushModeTheSidecarGetsTheTenantHeaderThePushIntervalAndTheBearerTokenFromTheNamedSecret()
    {
        var push = Options with
        {
            Mode = "push",
            RemoteWriteUrl = "https://mimir.example/api/v1/push",
            RemoteWriteHeaders = "X-Scope-OrgID=team-a",
            RemoteWriteBearerTokenSecret = "remote-write-token",
            PushInterval = "250ms",
        };
        var spec = PodInjector.Decide(Pod(), push, null, nativeSidecar: false).Pod!["spec"]!;
        var sidecar = spec["containers"]!.AsArray().Last()!;
        var args = sidecar["args"]!.AsArray().Select(a => (string)a!).ToList();

        Assert.Contains("--remote-write-url=https://mimir.example/api/v1/push", args);
        Assert.Contains("--remote-write-headers=X-Scope-OrgID=team-a", args);
        Assert.Contains("--push-interval=250ms", args);
        Assert.Contains($"--remote-write-bearer-token-file={SidecarOptions.RemoteWriteTokenDirectory}/token", args);
        var mount = sidecar["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == Names.SidecarRemoteWriteTokenVolume)!;
        Assert.Equal(SidecarOptions.RemoteWriteTokenDirectory, (string?)mount["mountPath"]);
        Assert.True((bool)mount["readOnly"]!);
        var volume = spec["volumes"]!.AsArray().Single(v => (string?)v!["name"] == Names.SidecarRemoteWriteTokenVolume)!;
        Assert.Equal("remote-write-token", (string?)volume["secret"]!["secretName"]);

        // In scrape mode none of it applies, and nothing is mounted.
        var scrape = PodInjector.Decide(Pod(), push with { Mode = "scrape" }, null, nativeSidecar: false).Pod!["spec"]!;
        Assert.DoesNotContain(scrape["volumes"]!.AsArray(), v => (string?)v!["name"] == Names.SidecarRemoteWriteTokenVolume);
        Assert.DoesNotContain(scrape["containers"]!.AsArray().Last()!["args"]!.AsArray(), a => ((string)a!).StartsWith("--remote-write", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--remote-write-headers", "X-Scope-OrgID", "--remote-write-headers takes Name=value pairs")]
    [InlineData("--remote-write-headers", "Bad Header=1", "--remote-write-headers takes Name=value pairs")]
    [InlineData("--remote-write-bearer-token-secret", "Not_A_Name", "--remote-write-bearer-token-secret must be a Secret's name")]
    [InlineData("--sidecar-push-interval", "soon", "--sidecar-push-interval must be a duration such as 100ms or 1s, got \"soon\"")]
    [InlineData("--sidecar-push-interval", "5s", "--sidecar-push-interval must be more than 0 and at most 250ms, got 5s")]
    public void BadPushSettingsAreRefusedNamingTheFlagAndTheRule(string flag, string value, string expected)
    {
        var settings = new OperatorSettings { SidecarMode = "push", RemoteWriteUrl = "https://mimir.example/api/v1/push" };
        settings = flag switch
        {
            "--remote-write-headers" => settings with { RemoteWriteHeaders = value },
            "--remote-write-bearer-token-secret" => settings with { RemoteWriteBearerTokenSecret = value },
            _ => settings with { SidecarPushInterval = value },
        };

        var refused = Assert.Throws<ArgumentException>(() => settings.ToSidecarOptions());
        Assert.StartsWith(expected, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OnNewApiServersTheSidecarIsTheFirstInitContainerAndRestartsAlways()
    {
        var pod = Pod();
        pod["spec"]!["initContainers"] = new JsonArray(new JsonObject { ["name"] = "migrate" });
        var spec = PodInjector.Decide(pod, Options, null, nativeSidecar: true).Pod!["spec"]!;
        Assert.Equal(["agent-metrics-sidecar", "migrate"], spec["initContainers"]!.AsArray().Select(c => (string?)c!["name"]));
        Assert.Equal("Always", (string?)spec["initContainers"]![0]!["restartPolicy"]);
        Assert.DoesNotContain("agent-metrics-sidecar", spec["containers"]!.AsArray().Select(c => (string?)c!["name"]));
    }

    [Theory]
    [InlineData(4318)]
    [InlineData(4317)]
    [InlineData(9464)]
    public void APortCollisionAdmitsThePodUninjectedAndSaysWhy(int port)
    {
        var pod = Pod();
        pod["spec"]!["containers"]![1]!["ports"] = new JsonArray(new JsonObject { ["containerPort"] = port });
        var result = PodInjector.Decide(pod, Options, null, nativeSidecar: false);
        Assert.Equal(InjectionOutcome.Skipped, result.Outcome);
        Assert.Equal("skipped", (string?)result.Pod!["metadata"]!["annotations"]!["agentmetrics.io/injection"]);
        Assert.Contains($"container tools declares port {port}", (string?)result.Pod!["metadata"]!["annotations"]!["agentmetrics.io/injection-message"]);
        Assert.Equal(3, result.Pod["spec"]!["containers"]!.AsArray().Count);
    }

    [Fact]
    public void AnnotationValuesNeverBecomeStructure()
    {
        var plain = PodInjector.Decide(Pod(), Options, null, nativeSidecar: false).Pod!;
        var hostile = Pod();
        var annotations = new JsonObject
        {
            ["quote"] = "\"}],\"hostNetwork\":true,\"x\":[{\"",
            ["newline"] = "a\nb: c\n- d",
            ["json"] = """{"spec":{"containers":[{"name":"evil","image":"evil"}]}}""",
            ["pointer"] = "/spec/containers/-",
        };
        hostile["metadata"]!["annotations"] = annotations.DeepClone();
        var result = PodInjector.Decide(hostile, Options, null, nativeSidecar: false).Pod!;

        Assert.True(JsonNode.DeepEquals(plain["spec"], result["spec"]));
        foreach (var (key, value) in annotations)
        {
            Assert.Equal((string?)value, (string?)result["metadata"]!["annotations"]![key]);
        }
    }

    [Fact]
    public void ThePatchAppendsToArraysAndAddsMissingMembers()
    {
        var pod = Pod();
        var patch = JsonPatch.Diff(pod, PodInjector.Decide(pod, Options, null, nativeSidecar: false).Pod);
        var operations = patch.Select(o => $"{o!["op"]} {o["path"]}").ToList();
        Assert.Contains("add /metadata/annotations", operations);
        Assert.Contains("add /metadata/labels/agentmetrics.io~1injected", operations);
        Assert.Contains("add /spec/containers/-", operations);
        Assert.Contains("add /spec/volumes/-", operations);
        Assert.Contains("add /spec/containers/0/env/-", operations);
        Assert.Contains("add /spec/containers/1/env/-", operations);
        Assert.Contains("add /spec/containers/2/env", operations);
        Assert.DoesNotContain(operations, o => o.StartsWith("replace", StringComparison.Ordinal) || o.StartsWith("remove", StringComparison.Ordinal));
        Assert.Empty(JsonPatch.Diff(pod, pod.DeepClone()));
    }

    private static JsonObject Pod() => JsonNode.Parse("""
        {
          "apiVersion": "v1", "kind": "Pod",
          "metadata": {"generateName": "support-agent-", "labels": {"app.kubernetes.io/name": "support-agent"}},
          "spec": {
            "containers": [
              {"name": "agent", "image": "example.invalid/agent:1", "env": [{"name": "EXISTING", "value": "keep-me"}]},
              {"name": "tools", "image": "example.invalid/tools:1", "env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector:4318"}]},
              {"name": "shell", "image": "example.invalid/shell:1"}
            ],
            "volumes": [{"name": "data", "emptyDir": {}}]
          }
        }
        """)!.AsObject();

    private static Dictionary<string, string?> Env(JsonNode container) =>
        container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => (string?)e!["value"]);
}
