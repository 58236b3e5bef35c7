using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Operator.Injection;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The sidecar injection on the real API server: the webhook registered as config/webhook/mutating.yaml
/// registers it (by URL, with the test's CA), pods created through the API server, and what is stored.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class InjectionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task PodsOfOptedInNamespacesAreStoredWithOneSidecarAndNoOtherPodIsTouched()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var system = await plane.CreateNamespaceAsync("opsys");
        await using var agents = await plane.CreateNamespaceAsync("agents", OptedIn);
        await using var other = await plane.CreateNamespaceAsync("other");
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name);
        await using var hook = await RegisterAsync(plane, agents.Name, app.Url, plane.Pki.CaPem);
        var client = app.Client;

        // A bare pod, field by field: one sidecar meeting the restricted profile, the agent's endpoints, the identity.
        var bare = await CreatePodAsync(client, agents.Name, Pod("bare"));
        Assert.Equal(1, Sidecars(bare));
        var sidecar = Containers(bare).Single(c => (string?)c["name"] == Names.SidecarContainer);
        var security = sidecar["securityContext"]!;
        Assert.True((bool)security["runAsNonRoot"]!);
        Assert.NotEqual(0, (long)security["runAsUser"]!);
        Assert.False((bool)security["allowPrivilegeEscalation"]!);
        Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(c => (string?)c));
        Assert.Null(security["capabilities"]!["add"]);
        Assert.Equal("RuntimeDefault", (string?)security["seccompProfile"]!["type"]);
        Assert.True((bool)security["readOnlyRootFilesystem"]!);
        Assert.Equal("agent-metrics", (string?)sidecar["ports"]![0]!["name"]);
        Assert.Contains(sidecar["env"]!.AsArray(), e => (string?)e!["name"] == "AGENTMETRICS_POD"
            && (string?)e["valueFrom"]!["fieldRef"]!["fieldPath"] == "metadata.name");
        var agentEnv = Containers(bare)[0]["env"]!.AsArray().Select(e => (string?)e!["name"]).ToList();
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT", agentEnv);
        Assert.Contains(PodInjector.EventsEndpointVariable, agentEnv);
        Assert.Equal("true", bare.Metadata.Labels![Names.InjectedLabel]);
        Assert.Equal("injected", bare.Metadata.Annotations![Names.InjectionStatusAnnotation]);

        // From a Deployment's template, named by the ReplicaSet controller after admission.
        await plane.Kubectl.RunWithInputAsync(Deployment("fleet", 2).ToJsonString(), "apply", "-n", agents.Name, "-f", "-");
        List<KubernetesObject> fleet = [];
        await Eventually.UntilAsync(
            async () => (fleet = [.. (await client.ListAsync(ResourceType.Pods, agents.Name, KubernetesJsonContext.Default.KubernetesObject,
                new ListOptions { LabelSelector = "app.kubernetes.io/name=fleet" })).Items]).Count == 2,
            Patience, "the Deployment's two pods");
        Assert.All(fleet, pod => Assert.Equal(1, Sidecars(pod)));

        // Not opted in, and kube-system even when labelled as if it were: stored as they came.
        var elsewhere = await CreatePodAsync(client, other.Name, Pod("elsewhere"));
        Assert.Equal(0, Sidecars(elsewhere));
        Assert.Null(elsewhere.Metadata.Annotations?.GetValueOrDefault(Names.InjectionStatusAnnotation));
        await plane.Kubectl.RunAsync("label", "namespace", "kube-system", $"{Names.InjectLabel}=enabled", $"{TestLabel}={agents.Name}", "--overwrite");
        try
        {
            var systemPod = await CreatePodAsync(client, "kube-system", Pod($"system-{agents.Name}"));
            Assert.Equal(0, Sidecars(systemPod));
            Assert.Null(systemPod.Metadata.Annotations?.GetValueOrDefault(Names.InjectionStatusAnnotation));
        }
        finally
        {
            await plane.Kubectl.RunAsync("label", "namespace", "kube-system", $"{Names.InjectLabel}-", $"{TestLabel}-");
            await plane.Kubectl.TryRunAsync(null, "delete", "pod", $"system-{agents.Name}", "-n", "kube-system", "--wait=false");
        }

        // Opted out by label or annotation.
        var optedOut = Pod("opted-out");
        optedOut["metadata"]!["annotations"] = new JsonObject { [Names.InjectAnnotation] = "false" };
        Assert.Equal(0, Sidecars(await CreatePodAsync(client, agents.Name, optedOut)));

        // Hostile annotation values: the stored spec is exactly the plain pod's.
        var hostile = Pod("hostile");
        hostile["metadata"]!["annotations"] = new JsonObject
        {
            ["note"] = "\"}],\"hostNetwork\":true,\"containers\":[{\"name\":\"evil\"",
            ["lines"] = "a\nb: c\n- name: evil\n  image: evil",
            ["fragment"] = """{"op":"add","path":"/spec/containers/-","value":{"name":"evil","image":"evil"}}""",
        };
        var stored = await CreatePodAsync(client, agents.Name, hostile);
        Assert.True(JsonNode.DeepEquals(bare.Body["spec"], stored.Body["spec"]), $"{bare.Body["spec"]}\n{stored.Body["spec"]}");

        // Created again from what was stored (sidecar and annotation included): still one sidecar.
        var again = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = "again",
                ["labels"] = JsonSerializerLabels(bare.Metadata.Labels!),
                ["annotations"] = JsonSerializerLabels(bare.Metadata.Annotations!),
            },
            ["spec"] = bare.Body["spec"]!.DeepClone(),
        };
        Assert.Equal(1, Sidecars(await CreatePodAsync(client, agents.Name, again)));

        // The same AdmissionReview twice: the same single injection; the stored pod reviewed again: no patch.
        using var http = app.CreateHttpClient();
        var first = await ReviewAsync(http, app.Url, agents.Name, Pod("direct"));
        var second = await ReviewAsync(http, app.Url, agents.Name, Pod("direct"));
        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        Assert.Single(Patch(first), op => (string?)op!["path"] == "/spec/containers/-");
        var storedAgain = await ReviewAsync(http, app.Url, agents.Name, JsonNode.Parse(KubernetesJson(bare))!.AsObject());
        Assert.Null(storedAgain["patch"]);
        Assert.True((bool)storedAgain["allowed"]!);

        // A port the sidecar needs: admitted without it, annotated, and an Event on the pod.
        var colliding = Pod("collides");
        colliding["spec"]!["containers"]![0]!["ports"] = new JsonArray(new JsonObject { ["name"] = "metrics", ["containerPort"] = 9464 });
        var skipped = await CreatePodAsync(client, agents.Name, colliding);
        Assert.Equal(0, Sidecars(skipped));
        Assert.Equal("skipped", skipped.Metadata.Annotations![Names.InjectionStatusAnnotation]);
        Assert.Contains("declares port 9464", skipped.Metadata.Annotations[Names.InjectionMessageAnnotation], StringComparison.Ordinal);
        await Eventually.UntilAsync(
            async () => (await plane.Kubectl.RunAsync("get", "events", "-n", agents.Name, "--field-selector",
                $"involvedObject.name=collides,reason={SkippedInjectionReporter.Reason}", "-o", "name")).Trim().Length > 0,
            Patience, "the Event on the skipped pod");

        // Each definition counts its agents, injected and not.
        await plane.Kubectl.RunWithInputAsync(Definition("support"), "apply", "-n", agents.Name, "-f", "-");
        await Eventually.UntilAsync(
            async () => await plane.Kubectl.RunAsync("get", "agentmetricdefinition", "tickets", "-n", agents.Name, "-o",
                "jsonpath={.status.matchedAgents}/{.status.injectedAgents}") == "7/5",
            Patience, "7 matched agents of which 5 injected (bare, hostile, again, the Deployment's two; opted-out and collides not)");
    }

    [Fact]
    public async Task WithTheOperatorStoppedPodsAreStillCreatedAndTheStatusShowsTheUninjected()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var system = await plane.CreateNamespaceAsync("opsys");
        await using var agents = await plane.CreateNamespaceAsync("agents", OptedIn);
        await using var other = await plane.CreateNamespaceAsync("other");
        var url = new Uri($"https://127.0.0.1:{LoopbackPorts.Next()}");
        var app = await OperatorHarness.ServeAsync(plane, system.Name, url: url);
        try
        {
            await using var hook = await RegisterAsync(plane, agents.Name, url, plane.Pki.CaPem);
            await plane.Kubectl.RunWithInputAsync(Definition("support"), "apply", "-n", agents.Name, "-f", "-");
            await app.DisposeAsync();

            // failurePolicy Ignore: every pod is created, the opted-in one without the sidecar.
            using var client = new KubernetesClient(Kubernetes.Config.Kubeconfig.Load(plane.KubeconfigPath));
            Assert.Equal(0, Sidecars(await CreatePodAsync(client, other.Name, Pod("elsewhere"))));
            Assert.Equal(0, Sidecars(await CreatePodAsync(client, agents.Name, Pod("during-outage"))));
            await plane.Kubectl.RunAsync("run", $"outage-{agents.Name}", "-n", "kube-system", "--image=example.invalid/agent:1", "--restart=Never");
            await plane.Kubectl.RunAsync("delete", "pod", $"outage-{agents.Name}", "-n", "kube-system", "--wait=false");

            app = await OperatorHarness.ServeAsync(plane, system.Name, url: url);
            await Eventually.UntilAsync(
                async () => await Agents(plane, agents.Name) == "1/0", Patience, "the definition to count the uninjected agent");
            await WaitUntilInjectingAsync(app.Client, agents.Name);
            Assert.Equal(1, Sidecars(await CreatePodAsync(app.Client, agents.Name, Pod("after-outage"))));
            await Eventually.UntilAsync(async () => await Agents(plane, agents.Name) == "2/1", Patience, "2 agents, 1 injected");
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task SwitchingTheFlagOffAndOnTakesEffectWithoutARestart()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var system = await plane.CreateNamespaceAsync("opsys");
        await using var agents = await plane.CreateNamespaceAsync("agents", OptedIn);
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name);
        await using var hook = await RegisterAsync(plane, agents.Name, app.Url, plane.Pki.CaPem);
        await CreatePodAsync(app.Client, agents.Name, Pod("agent-0"));
        await plane.Kubectl.RunWithInputAsync(Definition("support"), "apply", "-n", agents.Name, "-f", "-");
        await plane.Kubectl.RunWithInputAsync(Threshold("support"), "apply", "-n", agents.Name, "-f", "-");
        await Eventually.UntilAsync(async () => await Reasons(plane, agents.Name) == "Collecting/RulesWritten", Patience, "both Ready");
        var rulesBefore = await plane.Kubectl.RunAsync("get", "prometheusrules", "-n", agents.Name, "-o", "name");

        foreach (var (value, reasons, sidecars) in new[] { ("false", "FeatureDisabled/FeatureDisabled", 0), ("true", "Collecting/RulesWritten", 1) })
        {
            await plane.Kubectl.RunWithInputAsync(FlagConfigMap(system.Name, value), "apply", "-f", "-");
            var flipped = Stopwatch.StartNew();
            await Eventually.UntilAsync(async () => await Reasons(plane, agents.Name) == reasons, Patience, $"{reasons} after the flag became {value}",
                TimeSpan.FromMilliseconds(20));
            var statusTook = flipped.Elapsed;
            var n = 0;
            await Eventually.UntilAsync(
                async () => Sidecars(await CreatePodAsync(app.Client, agents.Name, Pod($"{value}-{n++}"))) == sidecars,
                Patience, $"a new pod with {sidecars} sidecar(s) after the flag became {value}", TimeSpan.FromMilliseconds(20));
            output.WriteLine(
                $"{Names.FeatureFlag}={value}: both conditions {reasons} after {statusTook.TotalMilliseconds:0} ms, "
                + $"a new pod with {sidecars} sidecar(s) after {flipped.Elapsed.TotalMilliseconds:0} ms ({n} pod(s) created)");

            // Nothing written before is removed while off.
            Assert.Equal(rulesBefore, await plane.Kubectl.RunAsync("get", "prometheusrules", "-n", agents.Name, "-o", "name"));
        }

        var message = await plane.Kubectl.RunAsync("get", "agentmetricdefinition", "tickets", "-n", agents.Name, "-o",
            "jsonpath={.status.conditions[0].message}");
        Assert.DoesNotContain("switched off", message, StringComparison.Ordinal);

        // The flip is recorded once, on the flag's ConfigMap, both ways; not once per object it concerns.
        var onTheFlag = "";
        await Eventually.UntilAsync(
            async () => (onTheFlag = await plane.Kubectl.RunAsync("get", "events", "-n", system.Name, "--field-selector",
                $"involvedObject.kind=ConfigMap,involvedObject.name={Names.FlagConfigMap}", "-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}"))
                .Contains("AgentMetricsEnabled", StringComparison.Ordinal),
            Patience, "the flip's Events on the flag's ConfigMap");
        Assert.Matches($@"FeatureDisabled: {Names.FeatureFlag} is false: \d+ AgentMetricDefinition\(s\) and \d+ AlertThreshold\(s\) now report", onTheFlag);
        Assert.Empty((await plane.Kubectl.RunAsync("get", "events", "-n", agents.Name, "--field-selector", "reason=FeatureDisabled", "-o", "name")).Trim());
    }

    internal const string TestLabel = "agentmetrics.io/test";

    internal static Dictionary<string, string> OptedIn => new() { [Names.InjectLabel] = "enabled" };

    /// <summary>Registers the mutating webhook as config/webhook/mutating.yaml does, by URL, for namespaces labelled with the test's name too.</summary>
    internal static async Task<WebhookRegistration> RegisterAsync(ControlPlane plane, string @namespace, Uri url, string caPem, string failurePolicy = "Ignore")
    {
        await plane.Kubectl.RunAsync("label", "namespace", @namespace, $"{TestLabel}={@namespace}", "--overwrite");
        var name = $"agent-metrics-test-{@namespace}";
        var manifest = File.ReadAllText(RepoPaths.Combine("config", "webhook", "mutating.yaml"));
        var configuration = YamlJson.Parse(manifest)!.AsObject();
        configuration["metadata"] = new JsonObject { ["name"] = name };
        var webhook = configuration["webhooks"]![0]!;
        webhook["failurePolicy"] = failurePolicy;
        webhook["clientConfig"] = new JsonObject
        {
            ["url"] = new Uri(url, InjectionWebhook.Path).ToString(),
            ["caBundle"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(caPem)),
        };

        // Kubernetes 1.20 does not label namespaces with their own name yet: select by the test's label instead.
        webhook["namespaceSelector"] = new JsonObject
        {
            ["matchLabels"] = new JsonObject { [Names.InjectLabel] = "enabled", [TestLabel] = @namespace },
        };
        await plane.Kubectl.RunWithInputAsync(configuration.ToJsonString(), "apply", "-f", "-");
        using var client = new KubernetesClient(Kubernetes.Config.Kubeconfig.Load(plane.KubeconfigPath));
        await WaitUntilInjectingAsync(client, @namespace);
        return new WebhookRegistration(plane, name);
    }

    /// <summary>The API server picks webhook configurations up from its own watch: waits until a dry-run pod comes back injected.</summary>
    internal static Task WaitUntilInjectingAsync(KubernetesClient client, string @namespace) =>
        Eventually.UntilAsync(
            async () => Sidecars(await client.CreateAsync(
                ResourceType.Pods, @namespace, Parse(Pod("probe")), KubernetesJsonContext.Default.KubernetesObject, dryRun: true)) == 1,
            Patience, $"the injection webhook to bite in {@namespace}", TimeSpan.FromMilliseconds(100));

    internal static JsonObject Pod(string name, string agent = "support") => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = agent, ["agentmetrics.io/role"] = agent },
        },
        ["spec"] = new JsonObject
        {
            ["serviceAccountName"] = "default",
            ["containers"] = new JsonArray(new JsonObject { ["name"] = "agent", ["image"] = "example.invalid/agent:1" }),
        },
    };

    internal static async Task<KubernetesObject> CreatePodAsync(KubernetesClient client, string @namespace, JsonObject pod) =>
        await client.CreateAsync(ResourceType.Pods, @namespace, Parse(pod), KubernetesJsonContext.Default.KubernetesObject);

    internal static int Sidecars(KubernetesObject pod) =>
        new[] { "containers", "initContainers" }.Sum(field =>
            (pod.Body["spec"]?[field] as JsonArray ?? []).Count(c => (string?)c?["name"] == Names.SidecarContainer));

    private static List<JsonNode> Containers(KubernetesObject pod) => [.. pod.Body["spec"]!["containers"]!.AsArray().Select(c => c!)];

    private static KubernetesObject Parse(JsonObject pod) =>
        System.Text.Json.JsonSerializer.Deserialize(pod.ToJsonString(), KubernetesJsonContext.Default.KubernetesObject)!;

    private static string KubernetesJson(KubernetesObject obj) =>
        System.Text.Json.JsonSerializer.Serialize(obj, KubernetesJsonContext.Default.KubernetesObject);

    private static JsonObject JsonSerializerLabels(Dictionary<string, string> values) =>
        new(values.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));

    private static async Task<JsonNode> ReviewAsync(HttpClient http, Uri url, string @namespace, JsonObject pod)
    {
        var review = new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["request"] = new JsonObject
            {
                ["uid"] = "5f0a6d3e-0000-4000-8000-000000000001",
                ["kind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = "Pod" },
                ["operation"] = "CREATE",
                ["namespace"] = @namespace,
                ["object"] = pod,
            },
        };
        using var response = await http.PostAsync(
            new Uri(url, InjectionWebhook.Path), new StringContent(review.ToJsonString(), Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["response"]!;
    }

    private static JsonArray Patch(JsonNode response) =>
        JsonNode.Parse(Convert.FromBase64String((string)response["patch"]!))!.AsArray();

    private static JsonObject Deployment(string name, int replicas) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app.kubernetes.io/name"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = name, ["agentmetrics.io/role"] = "support" } },
                ["spec"] = Pod(name)["spec"]!.DeepClone(),
            },
        },
    };

    private static string Definition(string role) => $$"""
        apiVersion: agentmetrics.io/v1alpha1
        kind: AgentMetricDefinition
        metadata: {name: tickets}
        spec:
          selector:
            matchLabels: {agentmetrics.io/role: {{role}}}
          metric: {name: tickets_closed, type: counter, help: Tickets closed.}
          source: {kind: Event, name: ticket_closed}
        """;

    private static string Threshold(string role) => $$"""
        apiVersion: agentmetrics.io/v1alpha1
        kind: AlertThreshold
        metadata: {name: slow-{{role}}}
        spec:
          metric: agent_task_duration_seconds
          statistic: p99
          comparison: GreaterThan
          threshold: 25.6
          window: 5m
          for: 5m
          severity: warning
          agents: [{{role}}]
        """;

    private static string FlagConfigMap(string @namespace, string value) => $"""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {Names.FlagConfigMap}
          namespace: {@namespace}
        data:
          {Names.FeatureFlag}: "{value}"
        """;

    private static Task<string> Agents(ControlPlane plane, string @namespace) =>
        plane.Kubectl.RunAsync("get", "agentmetricdefinition", "tickets", "-n", @namespace, "-o",
            "jsonpath={.status.matchedAgents}/{.status.injectedAgents}");

    private static async Task<string> Reasons(ControlPlane plane, string @namespace) =>
        await plane.Kubectl.RunAsync("get", "agentmetricdefinition", "tickets", "-n", @namespace, "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}")
        + "/"
        + await plane.Kubectl.RunAsync("get", "alertthreshold", "slow-support", "-n", @namespace, "-o",
            "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason}");

    /// <summary>Deletes the test's webhook configuration.</summary>
    internal sealed class WebhookRegistration(ControlPlane plane, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() =>
            await plane.Kubectl.TryRunAsync(null, "delete", "mutatingwebhookconfiguration", name);
    }
}
