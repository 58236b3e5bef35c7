using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>What `kubectl apply -k config/` installs is accepted, object by object, by the real API server.</summary>
[Collection(OperatorCollection.Name)]
public sealed class ManifestTests
{
    [Fact]
    public async Task EverythingInConfigIsAcceptedByTheApiServer()
    {
        var plane = await ControlPlane.SharedAsync();

        // A server-side dry run stores nothing, so the namespace the rest goes into must exist already.
        await plane.Kubectl.TryRunAsync(null, "create", "namespace", "agent-metrics-system");
        var result = await plane.Kubectl.TryRunAsync(null, "apply", "-k", RepoPaths.Combine("config"), "--dry-run=server");

        Assert.True(result.ExitCode == 0, result.Stderr);
        foreach (var expected in new[]
        {
            "deployment.apps/agent-metrics-operator", "service/agent-metrics-operator", "configmap/agent-metrics-config",
            "mutatingwebhookconfiguration.admissionregistration.k8s.io/agent-metrics",
            "validatingwebhookconfiguration.admissionregistration.k8s.io/agent-metrics",
            "role.rbac.authorization.k8s.io/agent-metrics-operator-certificates",
        })
        {
            Assert.Contains(expected, result.Stdout, StringComparison.Ordinal);
        }

        var configMaps = await plane.Kubectl.TryRunAsync(null, "apply", "-k", RepoPaths.Combine("overlays", "output-configmaps"), "--dry-run=server");
        Assert.True(configMaps.ExitCode == 0, configMaps.Stderr);
        Assert.Contains("clusterrole.rbac.authorization.k8s.io/agent-metrics-operator-output", configMaps.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// GitOps tools apply config/ again and again and show whatever the server would change. On a
    /// cluster of its own (the webhooks are installed for real), config/ applied a second time, by
    /// client-side apply and by server-side apply, changes nothing the server holds.
    /// </summary>
    [Fact]
    public async Task ConfigAppliedAgainClientSideOrServerSideChangesNothing()
    {
        await using var plane = await ControlPlane.StartAsync();
        var config = RepoPaths.Combine("config");

        await plane.Kubectl.RunAsync("apply", "-k", config);
        var again = await plane.Kubectl.RunAsync("apply", "-k", config);
        var changed = again.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.EndsWith(" unchanged", StringComparison.Ordinal)).ToList();
        Assert.True(changed.Count == 0, $"a second client-side apply changed:\n{string.Join('\n', changed)}");

        var applied = await plane.Kubectl.TryRunAsync(null, "apply", "-k", config, "--server-side", "--force-conflicts");
        Assert.True(applied.ExitCode == 0, $"server-side apply failed: {applied.Stderr}");
        var diff = await plane.Kubectl.TryRunAsync(null, "diff", "-k", config, "--server-side", "--force-conflicts");
        Assert.True(diff.ExitCode == 0, $"after a server-side apply, kubectl diff --server-side shows:\n{diff.Stdout}{diff.Stderr}");
    }
}
