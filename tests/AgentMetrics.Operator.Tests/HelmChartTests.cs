using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// charts/agent-metrics, rendered without a helm binary by hack/helm-render (text/template, Sprig and
/// Helm's own functions; its header says what of Helm it reproduces): the defaults and every values
/// variant in the chart's ci/ are accepted by the real API server, and render what config/ and its
/// overlay install, object by object.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed partial class HelmChartTests
{
    private const string Namespace = "agent-metrics-system";

    /// <summary>Labels the chart adds to every object on purpose, for Helm's tooling; the comparison with config/ leaves out these alone.</summary>
    private static readonly string[] HelmLabels =
        ["helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/part-of", "app.kubernetes.io/version"];

    /// <summary>The one annotation the chart adds on purpose: its CRDs outlive an uninstall.</summary>
    private static readonly string[] HelmAnnotations = ["helm.sh/resource-policy"];

    private static readonly Lazy<Task<string>> Harness = new(BuildHarnessAsync);

    /// <summary>
    /// Each variant: its values file in the chart's ci/ (none for the defaults), the kustomization it
    /// must render the same objects as (when there is one), and what its render must and must not hold.
    /// </summary>
    public static TheoryData<string, string?, string[], string[]> Variants => new()
    {
        { "", "config", ["kind: CustomResourceDefinition", "helm.sh/resource-policy: keep"], ["kind: Namespace", "kind: ServiceMonitor"] },
        { "namespace", "config", ["kind: Namespace", "pod-security.kubernetes.io/enforce: restricted"], [] },
        { "output-configmaps", "overlays/output-configmaps", ["--output=configmaps"], ["--output=prometheus-operator"] },
        { "prometheus-operator", null, ["kind: ServiceMonitor", "--selector-labels=release=monitoring", "release: monitoring", "interval: 15s"], ["release: kube-prometheus-stack"] },
        {
            "push", null,
            ["--sidecar-mode=push", "--remote-write-url=https://mimir.example.com/api/v1/push", "--remote-write-bearer-token-secret=remote-write-token",
             "--remote-write-headers=X-Scope-OrgID=team-a", "--sidecar-push-interval=100ms", "--sidecar-resources=requests.cpu=20m,requests.memory=64Mi,limits.memory=256Mi"],
            ["--sidecar-mode=scrape"]
        },
        { "crds-external", null, ["kind: Deployment"], ["kind: CustomResourceDefinition"] },
        { "spread", null, ["replicas: 2", "topologySpreadConstraints:", "topologyKey: kubernetes.io/hostname", "topologyKey: topology.kubernetes.io/zone"], [] },
        {
            "cert-manager", null,
            ["--webhook-certificates=files", "secretName: agent-metrics-webhook-cert", "cert-manager.io/inject-ca-from: agent-metrics-system/agent-metrics-webhook"],
            ["name: agent-metrics-operator-certificates"]
        },
    };

    /// <summary>Values the chart must refuse, and the words of the refusal that name the field and the rule.</summary>
    public static TheoryData<string[], string> BadValues => new()
    {
        { ["--set", "replicas=two"], "- replicas: Invalid type. Expected: integer, given: string" },
        { ["--set", "output=grafana"], "- output: output must be one of the following: \"prometheus-operator\", \"configmaps\"" },
        { ["--set", "sidecar.mode=push"], "- remoteWrite.url: String length must be greater than or equal to 1" },
        { ["--set", "sidecar.native=yes"], "- sidecar.native: sidecar.native must be one of the following: \"auto\", \"true\", \"false\"" },
        { ["--set", "sidecar.resources.requests.cpu=lots"], "- sidecar.resources.requests.cpu: Does not match pattern" },
        { ["--set", "replica=3"], "- (root): Additional property replica is not allowed" },
        { ["--kube-version", "v1.20.2"], "chart requires kubeVersion: >=1.21.0-0 which is incompatible with Kubernetes v1.20.2" },
    };

    /// <summary>
    /// The render is applied with a server-side dry run: the API server validates and defaults every
    /// object and runs its admission, and stores nothing. Every rendered object must come back. The
    /// chart is rendered for the harness's default Kubernetes, v1.32.0; the tests' API server is 1.20.2,
    /// older than the chart's kubeVersion, and takes every object all the same.
    /// </summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public async Task EachValuesVariantRendersAndIsAcceptedByTheApiServer(string variant, string? kustomization, string[] present, string[] absent)
    {
        var rendered = await RenderAsync(ValuesArguments(variant));
        foreach (var text in present)
        {
            Assert.True(rendered.Contains(text, StringComparison.Ordinal), $"the {Name(variant)} render lacks \"{text}\":\n{rendered}");
        }

        foreach (var text in absent)
        {
            Assert.False(rendered.Contains(text, StringComparison.Ordinal), $"the {Name(variant)} render holds \"{text}\":\n{rendered}");
        }

        var plane = await ControlPlane.SharedAsync();
        await PrepareAsync(plane);
        var applied = await plane.Kubectl.TryRunAsync(rendered, "apply", "--dry-run=server", "-f", "-", "-o", "name");
        Assert.True(applied.ExitCode == 0, $"the {Name(variant)} render was refused by the API server: {applied.Stderr}");
        var names = applied.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Documents(rendered).Count, names.Length);

        if (kustomization is not null)
        {
            var kustomized = await plane.Kubectl.RunAsync("kustomize", RepoPaths.Combine(kustomization));
            AssertSameObjects(kustomization, Objects(kustomized), Objects(rendered));
        }
    }

    /// <summary>
    /// As config/ (ManifestTests): on a cluster of its own, the chart's defaults applied a second time,
    /// client-side and server-side, change nothing the server holds, so Argo CD shows no drift.
    /// </summary>
    [Fact]
    public async Task TheChartAppliedAgainClientSideOrServerSideChangesNothing()
    {
        var rendered = await RenderAsync([]);
        await using var plane = await ControlPlane.StartAsync();
        await plane.Kubectl.RunAsync("create", "namespace", Namespace);

        await plane.Kubectl.RunWithInputAsync(rendered, "apply", "-f", "-");
        var again = await plane.Kubectl.RunWithInputAsync(rendered, "apply", "-f", "-");
        var changed = again.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.EndsWith(" unchanged", StringComparison.Ordinal)).ToList();
        Assert.True(changed.Count == 0, $"a second client-side apply of the chart changed:\n{string.Join('\n', changed)}");

        var applied = await plane.Kubectl.TryRunAsync(rendered, "apply", "-f", "-", "--server-side", "--force-conflicts");
        Assert.True(applied.ExitCode == 0, $"server-side apply of the chart failed: {applied.Stderr}");
        var diff = await plane.Kubectl.TryRunAsync(rendered, "diff", "-f", "-", "--server-side", "--force-conflicts");
        Assert.True(diff.ExitCode == 0, $"after a server-side apply, kubectl diff --server-side shows:\n{diff.Stdout}{diff.Stderr}");
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task BadValuesAreRefusedNamingTheFieldAndTheRule(string[] arguments, string expected)
    {
        var result = await RunHarnessAsync([.. arguments, "agent-metrics", RepoPaths.Combine("charts", "agent-metrics"), "-n", Namespace]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task NotesTellTheNextThreeCommands()
    {
        var notes = await RenderAsync(["--notes"]);
        Assert.Contains($"1. Wait for the operator to be ready:\n     kubectl rollout status deployment/agent-metrics-operator -n {Namespace}", notes, StringComparison.Ordinal);
        Assert.Contains("2. Opt a namespace of agents in; pods created in it from now on get the metrics sidecar:\n     kubectl label namespace NAMESPACE agentmetrics.io/inject=enabled", notes, StringComparison.Ordinal);
        Assert.Contains("3. Declare a metric or an alert there", notes, StringComparison.Ordinal);
        Assert.Contains("kubectl get agentmetrics -n NAMESPACE", notes, StringComparison.Ordinal);
        Assert.True(File.Exists(RepoPaths.Combine("config", "samples", "alertthreshold-p99-latency.yaml")), "the notes name a sample that is not in config/samples/");

        var push = await RenderAsync([.. ValuesArguments("push"), "--notes"]);
        Assert.Contains("kubectl create secret generic remote-write-token -n NAMESPACE --from-literal=token=TOKEN", push, StringComparison.Ordinal);
    }

    private static string Name(string variant) => variant.Length == 0 ? "default" : variant;

    private static string[] ValuesArguments(string variant) =>
        variant.Length == 0 ? [] : ["-f", RepoPaths.Combine("charts", "agent-metrics", "ci", $"{variant}-values.yaml")];

    /// <summary>
    /// A server-side dry run stores nothing, so the release's namespace must exist already (as
    /// --create-namespace makes it), and a ServiceMonitor needs its kind served: a stand-in CRD, as
    /// the tests' PodMonitor and PrometheusRule ones are.
    /// </summary>
    private static async Task PrepareAsync(ControlPlane plane)
    {
        await plane.Kubectl.TryRunAsync(null, "create", "namespace", Namespace);
        var crd = Path.Combine(plane.Directory, "servicemonitors-crd.json");
        if (!File.Exists(crd))
        {
            var standIn = new JsonObject
            {
                ["apiVersion"] = "apiextensions.k8s.io/v1",
                ["kind"] = "CustomResourceDefinition",
                ["metadata"] = new JsonObject { ["name"] = "servicemonitors.monitoring.coreos.com" },
                ["spec"] = new JsonObject
                {
                    ["group"] = "monitoring.coreos.com",
                    ["scope"] = "Namespaced",
                    ["names"] = new JsonObject
                    {
                        ["kind"] = "ServiceMonitor",
                        ["listKind"] = "ServiceMonitorList",
                        ["plural"] = "servicemonitors",
                        ["singular"] = "servicemonitor",
                    },
                    ["versions"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "v1",
                        ["served"] = true,
                        ["storage"] = true,
                        ["schema"] = new JsonObject
                        {
                            ["openAPIV3Schema"] = new JsonObject { ["type"] = "object", ["x-kubernetes-preserve-unknown-fields"] = true },
                        },
                    }),
                },
            };
            await File.WriteAllTextAsync(crd, standIn.ToJsonString());
        }

        await plane.InstallCrdsAsync(crd);
    }

    private static async Task<string> RenderAsync(string[] arguments)
    {
        var result = await RunHarnessAsync([.. arguments, "agent-metrics", RepoPaths.Combine("charts", "agent-metrics"), "-n", Namespace]);
        Assert.True(result.ExitCode == 0, $"helm-render {string.Join(' ', arguments)} failed: {result.Stderr}");
        return result.Stdout;
    }

    private static async Task<KubectlResult> RunHarnessAsync(string[] arguments) =>
        await Command.TryRunAsync(await Harness.Value, arguments);

    /// <summary>
    /// Builds hack/helm-render into artifacts/ once per run (Go's build cache makes a rebuild about a
    /// second); a missing Go or Debian Go source fails the run naming the package, never a skip.
    /// </summary>
    private static async Task<string> BuildHarnessAsync()
    {
        var output = RepoPaths.Combine("artifacts", "helm-render", "helm-render");
        var result = await Command.TryRunAsync(RepoPaths.Combine("hack", "helm-render", "build.sh"), [output], TimeSpan.FromMinutes(5));
        return result.ExitCode switch
        {
            0 => output,
            3 => throw new MissingDependencyException(result.Stderr.Trim()),
            _ => throw new InvalidOperationException($"hack/helm-render/build.sh exited {result.ExitCode}: {result.Stderr.Trim()}"),
        };
    }

    /// <summary>The YAML documents of a stream, without those holding only comments.</summary>
    private static List<string> Documents(string yaml) =>
        [.. DocumentSeparator().Split(yaml).Where(d => d.Split('\n').Any(line => line.Trim() is { Length: > 0 } text && !text.StartsWith('#')))];

    /// <summary>Each object by kind, namespace and name, without the labels and annotations the chart adds on purpose.</summary>
    private static SortedDictionary<string, JsonObject> Objects(string yaml)
    {
        var objects = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var document in Documents(yaml))
        {
            var manifest = YamlJson.Parse(document)!.AsObject();
            var metadata = manifest["metadata"]!.AsObject();
            Drop(metadata, "labels", HelmLabels);
            Drop(metadata, "annotations", HelmAnnotations);
            var key = $"{manifest["kind"]}/{metadata["namespace"]}/{metadata["name"]}";
            Assert.True(objects.TryAdd(key, manifest), $"{key} is rendered twice");
        }

        return objects;
    }

    private static void Drop(JsonObject metadata, string field, string[] keys)
    {
        if (metadata[field] is not JsonObject map)
        {
            return;
        }

        foreach (var key in keys)
        {
            map.Remove(key);
        }

        if (map.Count == 0)
        {
            metadata.Remove(field);
        }
    }

    /// <summary>
    /// The same objects with the same content. `helm install --create-namespace` makes the namespace
    /// itself, so a render without one (namespace.create false) matches the kustomization's other objects.
    /// </summary>
    private static void AssertSameObjects(string kustomization, SortedDictionary<string, JsonObject> kustomized, SortedDictionary<string, JsonObject> rendered)
    {
        var namespaceKey = $"Namespace//{Namespace}";
        if (!rendered.ContainsKey(namespaceKey))
        {
            kustomized.Remove(namespaceKey);
        }

        Assert.Equal(kustomized.Keys, rendered.Keys);
        foreach (var (key, expected) in kustomized)
        {
            Assert.True(
                JsonNode.DeepEquals(expected, rendered[key]),
                $"{key} differs from `kubectl kustomize {kustomization}`:\nkustomize: {expected.ToJsonString()}\nchart:     {rendered[key].ToJsonString()}");
        }
    }

    [GeneratedRegex(@"^---[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex DocumentSeparator();
}
