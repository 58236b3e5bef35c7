using System.Text.Json;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>Proves the local control plane is a real Kubernetes API with real controllers behind it.</summary>
public sealed class KubernetesSmokeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ServerSideApplyOfCustomResourceThroughGeneratedKubeconfigReadsBack()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("smoke-apply");

        await plane.Kubectl.RunWithInputAsync(
            """
            apiVersion: smoke.agentmetrics.io/v1
            kind: Widget
            metadata:
              name: first
            spec:
              size: 3
              color: teal
            """,
            "apply", "--server-side", "--field-manager=smoke-test", "-n", ns.Name, "-f", "-");

        using var widget = JsonDocument.Parse(await plane.Kubectl.RunAsync("get", "widget", "first", "-n", ns.Name, "-o", "json", "--show-managed-fields"));
        var root = widget.RootElement;
        Assert.Equal(3, root.GetProperty("spec").GetProperty("size").GetInt32());
        Assert.Equal("teal", root.GetProperty("spec").GetProperty("color").GetString());
        Assert.Contains(
            root.GetProperty("metadata").GetProperty("managedFields").EnumerateArray(),
            entry => entry.GetProperty("manager").GetString() == "smoke-test"
                && entry.GetProperty("operation").GetString() == "Apply");
    }

    [Fact]
    public async Task SchemaViolationIsRejectedByTheApiServer()
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallWidgetCrdAsync();
        await using var ns = await plane.CreateNamespaceAsync("smoke-schema");

        var result = await plane.Kubectl.TryRunAsync(
            "apiVersion: smoke.agentmetrics.io/v1\nkind: Widget\nmetadata:\n  name: tiny\nspec:\n  size: 0\n",
            "apply", "--server-side", "-n", ns.Name, "-f", "-");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("spec.size", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChildWithOwnerReferenceIsGarbageCollectedAfterOwnerIsDeleted()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("smoke-gc");
        await plane.Kubectl.RunAsync("create", "configmap", "owner", "-n", ns.Name, "--from-literal=role=owner");
        var ownerUid = await plane.Kubectl.RunAsync("get", "configmap", "owner", "-n", ns.Name, "-o", "jsonpath={.metadata.uid}");
        await plane.Kubectl.RunWithInputAsync(
            $$"""
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "child", "ownerReferences": [
               {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "{{ownerUid}}", "controller": true} ] },
             "data": {"role": "child"} }
            """,
            "create", "-n", ns.Name, "-f", "-");

        await plane.Kubectl.RunAsync("delete", "configmap", "owner", "-n", ns.Name);

        await Eventually.UntilAsync(
            async () => (await plane.Kubectl.TryRunAsync(null, "get", "configmap", "child", "-n", ns.Name)).ExitCode != 0,
            Patience,
            "the garbage collector to delete the child config map");
    }

    [Fact]
    public async Task PlayingTheKubeletMarksAPodRunningWithALoopbackIp()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("smoke-kubelet");
        await plane.Kubectl.RunAsync("run", "agent", "-n", ns.Name, "--image=example.invalid/agent:1", "--restart=Never");

        var ip = await plane.MarkPodRunningAsync(ns.Name, "agent");

        var stored = await plane.Kubectl.RunAsync(
            "get", "pod", "agent", "-n", ns.Name, "-o", "jsonpath={.status.phase} {.status.podIP}");
        Assert.Equal($"Running {ip}", stored);
        Assert.StartsWith("127.0.", ip, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServiceAccountControllerCreatesTheDefaultAccount()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var ns = await plane.CreateNamespaceAsync("smoke-sa");

        await Eventually.UntilAsync(
            async () => (await plane.Kubectl.TryRunAsync(null, "get", "serviceaccount", "default", "-n", ns.Name)).ExitCode == 0,
            Patience,
            "the service-account controller to create the default account");
    }

    [Fact]
    public async Task NamespaceControllerDeletesANamespaceWithItsContents()
    {
        var plane = await ControlPlane.SharedAsync();
        var ns = await plane.CreateNamespaceAsync("smoke-ns");
        await plane.Kubectl.RunAsync("create", "configmap", "content", "-n", ns.Name, "--from-literal=a=b");

        await ns.DisposeAsync();

        await Eventually.UntilAsync(
            async () => (await plane.Kubectl.TryRunAsync(null, "get", "namespace", ns.Name)).ExitCode != 0,
            Patience,
            "the namespace controller to finish deleting the namespace");
    }
}
