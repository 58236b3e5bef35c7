using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The operator does its whole job with a token bound to exactly the roles config/ installs for its
/// output mode, not as an admin: reconciling the samples, and reviewing the tokens sidecars present to
/// the definitions stream; and it cannot list or write the other mode's kind.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class RbacTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("prometheus-operator")]
    [InlineData("configmaps")]
    public async Task TheOperatorWorksWithTheLeastPrivilegeOfConfigRbacInEachOutputMode(string mode)
    {
        var plane = await ControlPlane.SharedAsync();
        await plane.InstallPrometheusOperatorCrdsAsync();
        await plane.Kubectl.TryRunAsync(null, "create", "namespace", "agent-metrics-system");

        // The roles as kubectl apply -k config/ or overlays/output-configmaps/ installs them for this mode.
        var overlay = mode == "configmaps" ? RepoPaths.Combine("overlays", "output-configmaps") : RepoPaths.Combine("config");
        var roles = (await plane.Kubectl.RunAsync("kustomize", overlay)).Split("\n---\n")
            .Where(document => document.Contains("kind: ServiceAccount", StringComparison.Ordinal) || document.Contains("kind: ClusterRole", StringComparison.Ordinal)
                || document.Contains("kind: Role", StringComparison.Ordinal));
        await plane.Kubectl.RunWithInputAsync(string.Join("\n---\n", roles), "apply", "-f", "-");
        await Eventually.UntilAsync(
            async () => (await plane.Kubectl.TryRunAsync(null, "get", "serviceaccount", "agent-metrics-operator", "-n", "agent-metrics-system")).ExitCode == 0,
            Patience, "the service account");
        var token = (await plane.Kubectl.RunAsync("create", "token", "agent-metrics-operator", "-n", "agent-metrics-system")).Trim();
        var admin = Kubeconfig.Load(plane.KubeconfigPath);
        using var client = new KubernetesClient(new KubernetesClientConfiguration
        {
            Server = admin.Server,
            CertificateAuthorities = admin.CertificateAuthorities,
            Token = new StaticTokenProvider(token),
        });
        await using var ns = await plane.CreateNamespaceAsync("rbac");
        await plane.Kubectl.RunAsync("run", "support-agent-0", "-n", ns.Name, "--image=example.invalid/agent:1", "--restart=Never",
            "--labels=app.kubernetes.io/name=support-agent,agentmetrics.io/role=researcher");
        var elector = new Kubernetes.Runtime.LeaderElector(client, "agent-metrics-system", $"rbac-test-{ns.Name}", "rbac-test",
            new Kubernetes.Runtime.LeaderElectionOptions { ReleaseOnCancel = true });
        using var runtime = new OperatorRuntime(
            client, new Rendering.OutputOptions { Mode = mode == "configmaps" ? Rendering.OutputMode.ConfigMaps : Rendering.OutputMode.PrometheusOperator });
        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(runtime.RunInformersAsync(stop.Token), elector.RunAsync(runtime.RunControllersAsync, stop.Token));
        try
        {
            await plane.Kubectl.RunAsync("apply", "-n", ns.Name, "-f", RepoPaths.Combine("config", "samples"));

            var expected = Directory.GetFiles(RepoPaths.Combine("config", "samples")).Length;
            await Eventually.UntilAsync(
                async () => (await plane.Kubectl.RunAsync("get", "agentmetrics", "-n", ns.Name, "-o",
                    "jsonpath={range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}"))
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(s => s == "True") == expected,
                Patience, "every sample to become Ready under the operator's own role");
            await Eventually.UntilAsync(
                async () => (await plane.Kubectl.RunAsync("get", "events", "-n", ns.Name, "--field-selector", "reason=RulesWritten", "-o", "name")).Trim().Length > 0,
                Patience, "the RulesWritten Events, written by the operator's own role");
            var review = await new Streaming.TokenReviewer(client).ReviewAsync(token, CancellationToken.None);
            Assert.True(review.Authenticated, review.Error);
            Assert.Equal("system:serviceaccount:agent-metrics-system:agent-metrics-operator", review.User?.Username);
            var denied = await plane.Kubectl.TryRunAsync(null, "--token", token, "--user", "", "get", "secrets", "-n", ns.Name);
            Assert.Contains("forbidden", denied.Stderr, StringComparison.Ordinal);

            // The other mode's kind only to remove: neither listed nor written in the agents' namespace.
            var (otherKind, other) = mode == "configmaps"
                ? ("prometheusrules", """{"apiVersion":"monitoring.coreos.com/v1","kind":"PrometheusRule","metadata":{"name":"x"},"spec":{"groups":[]}}""")
                : ("configmaps", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}""");
            foreach (var attempt in new[] { new[] { "get", otherKind, "-n", ns.Name }, ["create", "-n", ns.Name, "-f", "-"] })
            {
                var refused = await plane.Kubectl.TryRunAsync(attempt[0] == "create" ? other : null, ["--token", token, "--user", "", .. attempt]);
                Assert.True(refused.Stderr.Contains("forbidden", StringComparison.Ordinal), $"{mode}: kubectl {string.Join(' ', attempt)} was not refused: {refused.Stdout}{refused.Stderr}");
            }

            // Its own CA and certificate: the Secret created, the caBundle written into its webhook configuration.
            await plane.Kubectl.RunWithInputAsync(
                """
                apiVersion: admissionregistration.k8s.io/v1
                kind: MutatingWebhookConfiguration
                metadata: {name: agent-metrics}
                webhooks:
                - name: inject.agentmetrics.io
                  admissionReviewVersions: [v1]
                  sideEffects: None
                  failurePolicy: Ignore
                  clientConfig: {url: "https://127.0.0.1:9/mutate/pods"}
                  namespaceSelector: {matchLabels: {agentmetrics.io/rbac-test: none}}
                  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
                """,
                "apply", "-f", "-");
            var certificates = new Certificates.SelfManagedCertificates(
                client,
                new Certificates.SelfManagedOptions { Namespace = "agent-metrics-system", Hosts = ["agent-metrics-operator.agent-metrics-system.svc"] },
                Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            await certificates.CheckAsync(CancellationToken.None);
            Assert.NotNull(certificates.Current);
            var caBundle = await plane.Kubectl.RunAsync(
                "get", "mutatingwebhookconfiguration", "agent-metrics", "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}");
            Assert.Equal(certificates.CaBundle, System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(caBundle)));
            await certificates.CheckAsync(CancellationToken.None);
        }
        finally
        {
            await plane.Kubectl.TryRunAsync(null, "delete", "mutatingwebhookconfiguration", "agent-metrics");
            await plane.Kubectl.TryRunAsync(null, "delete", "secret", "agent-metrics-webhook-tls", "-n", "agent-metrics-system");
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(15));
        }
    }
}
