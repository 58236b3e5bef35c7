using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>
/// Kubeconfig users with an exec credential plugin, as EKS, GKE and AKS write them, against the real API
/// server: the plugin is a real executable script that prints the control plane's token file entry (or, on
/// its first run where a case says so, a token the server refuses) and records each run, with its
/// arguments, environment and KUBERNETES_EXEC_INFO, so the tests see when it runs.
/// </summary>
public sealed class ExecCredentialTests
{
    private const string Plugin = """
        #!/bin/sh
        printf '%s|%s|%s\n' "$*" "$GREETING" "$KUBERNETES_EXEC_INFO" >> "$RUNS"
        token="$TOKEN"
        if [ -n "$FIRST_TOKEN" ] && [ "$(wc -l < "$RUNS")" -eq 1 ]; then token="$FIRST_TOKEN"; fi
        if [ -n "$FAIL" ]; then echo "$FAIL" >&2; exit 3; fi
        printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' "$ANSWER_VERSION" "$token" "$EXPIRES"
        """;

    [Theory]
    [InlineData("client.authentication.k8s.io/v1")]
    [InlineData("client.authentication.k8s.io/v1beta1")]
    public async Task ThePluginsTokenIsUsedAndKeptUntilItExpires(string apiVersion)
    {
        var plane = await ControlPlane.SharedAsync();
        var (kubeconfig, runs) = Write(plane, apiVersion, new() { ["EXPIRES"] = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ") });
        using var client = new KubernetesClient(Kubeconfig.Load(kubeconfig));

        await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);
        await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);

        var run = Assert.Single(File.ReadAllLines(runs)).Split('|');
        Assert.Equal(("get-token --cluster local", "hello"), (run[0], run[1]));
        var info = JsonNode.Parse(run[2])!;
        Assert.Equal((apiVersion, "ExecCredential", false), ((string)info["apiVersion"]!, (string)info["kind"]!, (bool)info["spec"]!["interactive"]!));
        Assert.Equal(plane.ApiServer.Url.GetLeftPart(UriPartial.Authority), (string)info["spec"]!["cluster"]!["server"]!);
        Assert.Equal(plane.Pki.CaPem.Trim(), Encoding.UTF8.GetString(Convert.FromBase64String((string)info["spec"]!["cluster"]!["certificate-authority-data"]!)).Trim());
    }

    [Fact]
    public async Task AnExpiredTokenRunsThePluginAgain()
    {
        var plane = await ControlPlane.SharedAsync();
        var (kubeconfig, runs) = Write(plane, "client.authentication.k8s.io/v1", new() { ["EXPIRES"] = "2020-01-01T00:00:00Z" });
        using var client = new KubernetesClient(Kubeconfig.Load(kubeconfig));

        await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);
        await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);

        Assert.Equal(2, File.ReadAllLines(runs).Length);
    }

    [Fact]
    public async Task ATokenTheServerRefusesRunsThePluginAgainAndTheRequestSucceeds()
    {
        var plane = await ControlPlane.SharedAsync();
        var (kubeconfig, runs) = Write(plane, "client.authentication.k8s.io/v1", new()
        {
            ["EXPIRES"] = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["FIRST_TOKEN"] = "revoked-token",
        });
        using var client = new KubernetesClient(Kubeconfig.Load(kubeconfig));

        var namespaces = await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);

        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "default");
        Assert.Equal(2, File.ReadAllLines(runs).Length);
    }

    [Theory]
    [InlineData("FAIL", "no credentials: run aws sso login", "exited with code 3: no credentials: run aws sso login")]
    [InlineData("ANSWER_VERSION", "client.authentication.k8s.io/v1alpha1", "is configured to use API version client.authentication.k8s.io/v1, and answered in client.authentication.k8s.io/v1alpha1")]
    public async Task APluginThatFailsOrAnswersInAnotherVersionIsAnErrorNamingIt(string variable, string value, string expected)
    {
        var plane = await ControlPlane.SharedAsync();
        var (kubeconfig, _) = Write(plane, "client.authentication.k8s.io/v1", new() { ["EXPIRES"] = "", [variable] = value });
        using var client = new KubernetesClient(Kubeconfig.Load(kubeconfig));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains("fake-credential-plugin.sh", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("apiVersion: client.authentication.k8s.io/v1alpha1", "exec.apiVersion must be client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1")]
    [InlineData("apiVersion: client.authentication.k8s.io/v1", "exec.interactiveMode must be set (Never, IfAvailable or Always)")]
    [InlineData("apiVersion: client.authentication.k8s.io/v1beta1\n      interactiveMode: Sometimes", "exec.interactiveMode must be Never, IfAvailable or Always, got \"Sometimes\"")]
    public void AnExecSectionKubectlWouldRefuseIsRefusedNamingTheField(string fields, string expected)
    {
        var yaml = $"""
            apiVersion: v1
            kind: Config
            current-context: c
            clusters:
            - name: k
              cluster:
                server: https://127.0.0.1:6443
            users:
            - name: eks
              user:
                exec:
                  command: aws
                  {fields}
            contexts:
            - name: c
              context: {"{"}cluster: k, user: eks{"}"}
            """;

        var error = Assert.Throws<FormatException>(() => Kubeconfig.Parse(yaml));

        Assert.StartsWith($"kubeconfig: user eks: {expected}", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A kubeconfig whose user runs the fake plugin (by a path relative to the kubeconfig), with <paramref name="variables"/> in exec.env.</summary>
    private static (string Kubeconfig, string Runs) Write(ControlPlane plane, string apiVersion, Dictionary<string, string> variables)
    {
        var directory = ProcessRegistry.Current.CreateDirectory("exec-credential");
        var plugin = Path.Combine(directory, "bin", "fake-credential-plugin.sh");
        Directory.CreateDirectory(Path.GetDirectoryName(plugin)!);
        File.WriteAllText(plugin, Plugin);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var runs = Path.Combine(directory, "runs.log");
        variables.TryAdd("ANSWER_VERSION", apiVersion);
        variables["TOKEN"] = plane.AdminToken;
        variables["RUNS"] = runs;
        variables["GREETING"] = "hello";
        var env = string.Concat(variables.Select(v => $"\n            - name: {v.Key}\n              value: \"{v.Value}\""));
        var kubeconfig = $"""
            apiVersion: v1
            kind: Config
            current-context: exec
            clusters:
            - name: local
              cluster:
                server: {plane.ApiServer.Url.GetLeftPart(UriPartial.Authority)}
                certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(plane.Pki.CaPem))}
            users:
            - name: plugin
              user:
                exec:
                  apiVersion: {apiVersion}
                  command: ./bin/fake-credential-plugin.sh
                  args: [get-token, --cluster, local]
                  interactiveMode: Never
                  provideClusterInfo: true
                  env:{env}
            contexts:
            - name: exec
              context:
                cluster: local
                user: plugin
            """;
        var path = Path.Combine(directory, "kubeconfig");
        File.WriteAllText(path, kubeconfig);
        return (path, runs);
    }
}
