using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>The client against the real API server: round trips and the errors it tells apart.</summary>
public sealed class ClientTests
{
    [Fact]
    public async Task ACoreKindRoundTripsThroughCreateGetPagedListPatchApplyAndDelete()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("client-core");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;

        for (var i = 0; i < 7; i++)
        {
            await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ConfigMap(ns.Name, $"cm-{i}", "v", $"{i}"), objects);
        }

        var got = await client.GetAsync(ResourceType.ConfigMaps, ns.Name, "cm-3", objects);
        Assert.Equal("3", got.Body["data"]!["v"]!.GetValue<string>());

        var first = await client.ListAsync(ResourceType.ConfigMaps, ns.Name, objects, new ListOptions { Limit = 3 });
        Assert.Equal(3, first.Items.Count);
        Assert.NotNull(first.Continue);
        var all = await client.ListAllAsync(ResourceType.ConfigMaps, ns.Name, objects, pageSize: 3);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"cm-{i}"), all.Items.Select(o => o.Metadata.Name).Order());

        var patched = await client.PatchAsync(
            ResourceType.ConfigMaps, ns.Name, "cm-3", PatchKind.Merge, """{"data":{"extra":"yes"}}""", objects);
        Assert.Equal("yes", patched.Body["data"]!["extra"]!.GetValue<string>());

        var applied = await client.ApplyAsync(
            ResourceType.ConfigMaps, ns.Name, "applied", ConfigMap(ns.Name, "applied", "owner", "test"), objects, "agent-metrics-test");
        var managers = applied.Metadata.Extra!["managedFields"].EnumerateArray().Select(m => m.GetProperty("manager").GetString());
        Assert.Contains("agent-metrics-test", managers);

        await client.DeleteAsync(ResourceType.ConfigMaps, ns.Name, "cm-3", PropagationPolicy.Background);
        Assert.Null(await client.TryGetAsync(ResourceType.ConfigMaps, ns.Name, "cm-3", objects));
    }

    [Fact]
    public async Task ACustomKindRoundTripsIncludingItsStatusSubresource()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("client-custom");
        using var client = Clients.Admin(plane);
        var widgets = TestJsonContext.Default.Widget;

        var created = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w", 2), widgets);
        created.Status = new JsonObject { ["observed"] = 2 };
        created.Spec.Size = 99;
        var afterStatus = await client.ReplaceAsync(Widget.Type, ns.Name, "w", created, widgets, subresource: "status");

        Assert.Equal(2, afterStatus.Status!["observed"]!.GetValue<int>());
        Assert.Equal(2, afterStatus.Spec.Size);
        Assert.Equal(created.Metadata.Generation, afterStatus.Metadata.Generation);

        var applied = await client.ApplyAsync(
            Widget.Type, ns.Name, "w", new Widget { Metadata = new ObjectMeta { Name = "w" }, Spec = new WidgetSpec { Size = 5, Color = "red" } },
            widgets, "agent-metrics-test");
        Assert.Equal(5, applied.Spec.Size);
        Assert.Equal(created.Metadata.Generation + 1, applied.Metadata.Generation);
    }

    [Fact]
    public async Task RefusalsAreToldApartByStatus()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("client-errors");
        using var client = Clients.Admin(plane);
        var widgets = TestJsonContext.Default.Widget;
        var original = await client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w"), widgets);

        var notFound = await Assert.ThrowsAsync<KubernetesApiException>(
            () => client.GetAsync(Widget.Type, ns.Name, "missing", widgets));
        var exists = await Assert.ThrowsAsync<KubernetesApiException>(
            () => client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "w"), widgets));
        var invalid = await Assert.ThrowsAsync<KubernetesApiException>(
            () => client.CreateAsync(Widget.Type, ns.Name, Widget.Named(ns.Name, "tiny", size: 0), widgets));
        original.Spec.Size = 3;
        await client.ReplaceAsync(Widget.Type, ns.Name, "w", original, widgets);
        original.Spec.Size = 4;
        var conflict = await Assert.ThrowsAsync<KubernetesApiException>(
            () => client.ReplaceAsync(Widget.Type, ns.Name, "w", original, widgets));

        Assert.True(notFound.IsNotFound);
        Assert.True(exists.IsAlreadyExists);
        Assert.False(exists.IsConflict);
        Assert.True(conflict.IsConflict);
        Assert.True(invalid.IsInvalid);
        Assert.Contains(invalid.Status.Details!.Causes!, c => c.Field == "spec.size");
    }

    [Fact]
    public async Task AWatchSeesCreateUpdateAndDeleteInOrder()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("client-watch");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        var start = await client.ListAsync(ResourceType.ConfigMaps, ns.Name, objects);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<(WatchEventType, string?)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var change in client.WatchAsync(
                ResourceType.ConfigMaps, ns.Name, objects, new WatchOptions { ResourceVersion = start.ResourceVersion }, stop.Token))
            {
                if (change.Type != WatchEventType.Bookmark)
                {
                    seen.Add((change.Type, change.Object.Body["data"]?["v"]?.GetValue<string>()));
                }

                if (change.Type == WatchEventType.Deleted)
                {
                    return;
                }
            }
        });

        await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ConfigMap(ns.Name, "w", "v", "1"), objects);
        await client.PatchAsync(ResourceType.ConfigMaps, ns.Name, "w", PatchKind.Merge, """{"data":{"v":"2"}}""", objects);
        await client.DeleteAsync(ResourceType.ConfigMaps, ns.Name, "w");
        await watching.WaitAsync(stop.Token);

        Assert.Equal([(WatchEventType.Added, "1"), (WatchEventType.Modified, "2"), (WatchEventType.Deleted, "2")], seen);
    }

    [Fact]
    public async Task AWatchFromAVersionOlderThanTheServerKeepsIsGoneInsideAnOkStream()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("client-gone");
        using var client = Clients.Admin(plane);
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        var old = (await client.ListAsync(ResourceType.ConfigMaps, ns.Name, objects)).ResourceVersion;
        for (var i = 0; i < 3; i++)
        {
            await client.CreateAsync(ResourceType.ConfigMaps, ns.Name, ConfigMap(ns.Name, $"cm-{i}", "v", "x"), objects);
        }

        // A server started now keeps history only from now: `old` is older than anything it has.
        var (second, secondKubectl) = await plane.StartSecondApiServerAsync();
        await using var secondServer = second;
        using var secondClient = new KubernetesClient(Kubeconfig.Load(secondKubectl.KubeconfigPath));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var error = await Assert.ThrowsAsync<KubernetesApiException>(async () =>
        {
            await foreach (var change in secondClient.WatchAsync(
                ResourceType.ConfigMaps, ns.Name, objects, new WatchOptions { ResourceVersion = old }, timeout.Token))
            {
                Assert.Fail($"expected 410 Gone, got {change.Type}");
            }
        });

        Assert.True(error.IsGone, error.Message);
    }

    [Fact]
    public async Task AUsersPodKeepsEveryFieldThroughReadAndWriteBack()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("client-preserve");
        using var client = Clients.Admin(plane);
        await plane.Kubectl.RunWithInputAsync(
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: agent
              labels: {app: agent}
            spec:
              containers:
              - name: agent
                image: example.invalid/agent:1
                env: [{name: MODE, value: fast}]
                resources: {limits: {memory: 64Mi}}
              tolerations: [{key: dedicated, operator: Equal, value: agents, effect: NoSchedule}]
              terminationGracePeriodSeconds: 7
            """,
            "create", "-n", ns.Name, "-f", "-");
        var before = await plane.Kubectl.RunAsync("get", "pod", "agent", "-n", ns.Name, "-o", "jsonpath={.spec}");

        var pod = await client.GetAsync(ResourceType.Pods, ns.Name, "agent", KubernetesJsonContext.Default.KubernetesObject);
        pod.Metadata.Annotations = new Dictionary<string, string> { ["agentmetrics.io/touched"] = "yes" };
        await client.ReplaceAsync(ResourceType.Pods, ns.Name, "agent", pod, KubernetesJsonContext.Default.KubernetesObject);

        var after = await plane.Kubectl.RunAsync("get", "pod", "agent", "-n", ns.Name, "-o", "jsonpath={.spec}");
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(before).RootElement, JsonDocument.Parse(after).RootElement), after);
        Assert.Equal("yes", await plane.Kubectl.RunAsync(
            "get", "pod", "agent", "-n", ns.Name, "-o", "jsonpath={.metadata.annotations.agentmetrics\\.io/touched}"));
    }

    [Fact]
    public async Task EveryWriteNamesItsManagerByTheFieldManagerOrElseTheUserAgent()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("managers");
        var objects = KubernetesJsonContext.Default.KubernetesObject;
        using var named = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath)) { FieldManager = "agent-metrics-test" };
        using var plain = new KubernetesClient(Kubeconfig.Load(plane.KubeconfigPath)) { UserAgent = "agent-metrics-probe/1.2.3" };

        await named.CreateAsync(ResourceType.ConfigMaps, ns.Name, ConfigMap(ns.Name, "created", "v", "1"), objects);
        await named.PatchAsync(ResourceType.ConfigMaps, ns.Name, "created", PatchKind.Merge, """{"data":{"w":"2"}}""", objects);
        await plain.CreateAsync(ResourceType.ConfigMaps, ns.Name, ConfigMap(ns.Name, "plain", "v", "1"), objects);

        static IEnumerable<string?> Managers(KubernetesObject found) =>
            found.Metadata.Extra!["managedFields"].EnumerateArray().Select(f => f.GetProperty("manager").GetString());
        Assert.Equal(["agent-metrics-test"], Managers(await named.GetAsync(ResourceType.ConfigMaps, ns.Name, "created", objects)).Distinct());
        Assert.Equal(["agent-metrics-probe"], Managers(await plain.GetAsync(ResourceType.ConfigMaps, ns.Name, "plain", objects)));
    }

    [Fact]
    public async Task AClientCertificateInAKubeconfigAuthenticates()
    {
        var plane = await ControlPlane.SharedAsync();
        using var certificate = plane.Pki.IssueClientCertificate("cert-admin", "system:masters");
        using var key = certificate.GetECDsaPrivateKey()!;
        var directory = ProcessRegistry.Current.CreateDirectory("cert-kubeconfig");
        File.WriteAllText(Path.Combine(directory, "ca.crt"), plane.Pki.CaPem);
        File.WriteAllText(Path.Combine(directory, "client.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "client.key"), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(directory, "config"), $$"""
            current-context: cert
            clusters:
            - name: local
              cluster:
                server: {{plane.ApiServer.Url}}
                certificate-authority: ca.crt
            users:
            - name: cert
              user:
                client-certificate: client.crt
                client-key: client.key
            contexts:
            - name: cert
              context:
                cluster: local
                user: cert
            """);
        using var client = new KubernetesClient(Kubeconfig.Load(Path.Combine(directory, "config")));

        var namespaces = await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);

        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "kube-system");
    }

    [Fact]
    public async Task AServerCertificateFromAnotherCaIsRefused()
    {
        var plane = await ControlPlane.SharedAsync();
        using var otherCa = TestPki.Create();
        var config = Kubeconfig.Load(plane.KubeconfigPath);
        using var client = new KubernetesClient(new KubernetesClientConfiguration
        {
            Server = config.Server,
            Token = config.Token,
            CertificateAuthorities = [otherCa.CaCertificate],
        });

        await Assert.ThrowsAsync<HttpRequestException>(
            () => client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject));
    }

    internal static KubernetesObject ConfigMap(string @namespace, string name, string key, string value) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new ObjectMeta { Name = name, Namespace = @namespace },
        Body = new JsonObject { ["data"] = new JsonObject { [key] = value } },
    };
}
