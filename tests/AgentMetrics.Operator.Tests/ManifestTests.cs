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
    }
}
