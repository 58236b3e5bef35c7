using System.Text.Json.Nodes;
using AgentMetrics.Rendering;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>The dashboards as ConfigMaps in the operator's namespace, on the real API server: written, regenerated, pruned, and held while the flag is off.</summary>
[Collection(OperatorCollection.Name)]
public sealed class DashboardProvisioningTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task DashboardsFollowTheDefinitionsAndTheFlag()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var system = await plane.CreateNamespaceAsync("opdash");
        await using var first = await plane.CreateNamespaceAsync("team-a");
        await using var second = await plane.CreateNamespaceAsync("team-b");
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name, configure: s => s with { DashboardFolder = "Fleet of agents" });

        await plane.Kubectl.RunAsync("apply", "-n", first.Name, "-f", RepoPaths.Combine("config", "samples", "agentmetricdefinition-histogram-event.yaml"));
        await plane.Kubectl.RunAsync("apply", "-n", first.Name, "-f", RepoPaths.Combine("config", "samples", "agentmetricdefinition-counter-otlp.yaml"));
        var custom = $"agent-metrics-dashboard-custom-{first.Name}";
        await Eventually.UntilAsync(async () => (await PanelsAsync(plane, system.Name, custom)) == 2, Patience, "a custom dashboard with a panel per definition");

        // Other namespaces' definitions have dashboards of their own beside these.
        var names = (await plane.Kubectl.RunAsync("get", "configmaps", "-n", system.Name, "-l", $"{Names.GrafanaDashboardLabel}=1", "-o", "name"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Subset(
            names.ToHashSet(),
            new HashSet<string> { "configmap/agent-metrics-dashboard-agent", $"configmap/{custom}", "configmap/agent-metrics-dashboard-fleet", "configmap/agent-metrics-dashboard-history" });
        Assert.Equal("Fleet of agents", await plane.Kubectl.RunAsync("get", "configmap", custom, "-n", system.Name, "-o", "jsonpath={.metadata.annotations.grafana_folder}"));
        Assert.Contains(
            "fleet_zscore",
            await plane.Kubectl.RunAsync("get", "prometheusrule", Names.BuiltInRules, "-n", system.Name, "-o", "jsonpath={.spec.groups[0].rules[*].record}"),
            StringComparison.Ordinal);

        // A deleted definition leaves the dashboard; the namespace's last one takes the dashboard with it.
        await plane.Kubectl.RunAsync("delete", "agentmetricdefinition", "refund-amount", "-n", first.Name);
        await Eventually.UntilAsync(async () => (await PanelsAsync(plane, system.Name, custom)) == 1, Patience, "the panel of the deleted definition to go");
        await plane.Kubectl.RunAsync("delete", "agentmetricdefinition", "--all", "-n", first.Name);
        await Eventually.UntilAsync(async () => (await PanelsAsync(plane, system.Name, custom)) is null, Patience, "the custom dashboard to be pruned");

        // Switched off, a new definition gets no dashboard; switched on again, it does.
        await plane.Kubectl.RunWithInputAsync(
            $"{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"{Names.FlagConfigMap}\",\"namespace\":\"{system.Name}\"}},\"data\":{{\"{Names.FeatureFlag}\":\"false\"}}}}",
            "apply", "-f", "-");
        await plane.Kubectl.RunAsync("apply", "-n", second.Name, "-f", RepoPaths.Combine("config", "samples", "agentmetricdefinition-gauge-span.yaml"));
        await Eventually.UntilAsync(
            async () => await plane.Kubectl.RunAsync("get", "agentmetricdefinitions", "-n", second.Name, "-o", "jsonpath={.items[0].status.conditions[0].reason}") == "FeatureDisabled",
            Patience, "the definition to be marked FeatureDisabled");
        var secondCustom = $"agent-metrics-dashboard-custom-{second.Name}";
        Assert.Null(await PanelsAsync(plane, system.Name, secondCustom));
        await plane.Kubectl.RunAsync("patch", "configmap", Names.FlagConfigMap, "-n", system.Name, "--type=merge", "-p", $"{{\"data\":{{\"{Names.FeatureFlag}\":\"true\"}}}}");
        await Eventually.UntilAsync(async () => (await PanelsAsync(plane, system.Name, secondCustom)) == 1, Patience, "the dashboard once the flag is back on");
    }

    [Fact]
    public async Task ADefinitionChangeWritesOnlyTheDashboardItChanges()
    {
        // A plane of its own: on the shared one, other tests' namespaces going away change their dashboards too.
        await using var plane = await ControlPlane.StartAsync();
        await using var system = await plane.CreateNamespaceAsync("opdash");
        await using var team = await plane.CreateNamespaceAsync("team-c");
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name);
        var dashboards = app.Runtime.Dashboards;
        await plane.Kubectl.RunAsync("apply", "-n", team.Name, "-f", RepoPaths.Combine("config", "samples", "agentmetricdefinition-histogram-event.yaml"));
        var custom = $"agent-metrics-dashboard-custom-{team.Name}";
        await Eventually.UntilAsync(async () => (await PanelsAsync(plane, system.Name, custom)) == 1, Patience, "the custom dashboard");
        var before = await QuietWritesAsync(dashboards);
        var standing = await plane.Kubectl.RunAsync(
            "get", "configmaps", "-n", system.Name, "-l", $"{Names.DashboardLabel}=standing", "-o", "jsonpath={.items[*].metadata.resourceVersion}");

        await plane.Kubectl.RunAsync("apply", "-n", team.Name, "-f", RepoPaths.Combine("config", "samples", "agentmetricdefinition-counter-otlp.yaml"));
        await Eventually.UntilAsync(async () => (await PanelsAsync(plane, system.Name, custom)) == 2, Patience, "the new definition's panel");
        var after = await QuietWritesAsync(dashboards);

        // The one page of the namespace's custom dashboard; the standing dashboards are as they were.
        Assert.Equal(1, after - before);
        Assert.Equal(
            standing,
            await plane.Kubectl.RunAsync("get", "configmaps", "-n", system.Name, "-l", $"{Names.DashboardLabel}=standing", "-o", "jsonpath={.items[*].metadata.resourceVersion}"));
    }

    /// <summary>The dashboards' write count once it has stayed the same for a few settle times.</summary>
    private static async Task<long> QuietWritesAsync(Reconcilers.DashboardReconciler dashboards)
    {
        var writes = dashboards.Writes;
        for (var quiet = 0; quiet < 4;)
        {
            await Task.Delay(Reconcilers.DashboardReconciler.Settle);
            (quiet, writes) = dashboards.Writes == writes ? (quiet + 1, writes) : (0, dashboards.Writes);
        }

        return writes;
    }

    private static async Task<int?> PanelsAsync(ControlPlane plane, string @namespace, string name)
    {
        var result = await plane.Kubectl.TryRunAsync(null, "get", "configmap", name, "-n", @namespace, "-o", "json");
        if (result.ExitCode != 0)
        {
            return null;
        }

        var data = JsonNode.Parse(result.Stdout)!["data"]!.AsObject();
        return JsonNode.Parse((string)data.Single().Value!)!["panels"]!.AsArray().Count;
    }
}
