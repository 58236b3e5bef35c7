using System.Security.Cryptography.X509Certificates;
using System.Text;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

public sealed class ConfigTests
{
    private const string TwoContexts = """
        apiVersion: v1
        kind: Config
        current-context: first
        clusters:
        - name: one
          cluster:
            server: https://127.0.0.1:6443
            insecure-skip-tls-verify: true
        - name: two
          cluster:
            server: https://10.1.2.3:443
        users:
        - name: token-user
          user:
            token: abc123
        - name: file-user
          user:
            tokenFile: token.txt
        contexts:
        - name: first
          context:
            cluster: one
            user: token-user
        - name: second
          context:
            cluster: two
            user: file-user
            namespace: agents
        """;

    [Fact]
    public void TheCurrentContextIsUsedWhenNoneIsNamed()
    {
        var config = Kubeconfig.Parse(TwoContexts);

        Assert.Equal(new Uri("https://127.0.0.1:6443"), config.Server);
        Assert.True(config.InsecureSkipTlsVerify);
        Assert.Equal("abc123", config.Token!.GetToken());
        Assert.Equal("default", config.Namespace);
    }

    [Fact]
    public void ANamedContextSelectsItsClusterUserAndNamespace()
    {
        var directory = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "token.txt"), "from-file\n");

            var config = Kubeconfig.Parse(TwoContexts, "second", directory.FullName);

            Assert.Equal(new Uri("https://10.1.2.3:443"), config.Server);
            Assert.False(config.InsecureSkipTlsVerify);
            Assert.Equal("from-file", config.Token!.GetToken());
            Assert.Equal("agents", config.Namespace);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void AKubeconfigListIsMergedAsKubectlMergesIt()
    {
        var directory = Directory.CreateTempSubdirectory();
        try
        {
            // The first file sets the context and its own user; the second holds the cluster, a user of the
            // same name that loses, and a token file relative to itself.
            var first = Path.Combine(directory.FullName, "a", "config");
            var second = Path.Combine(directory.FullName, "b", "config");
            Directory.CreateDirectory(Path.GetDirectoryName(first)!);
            Directory.CreateDirectory(Path.GetDirectoryName(second)!);
            File.WriteAllText(first, """
                current-context: team
                users:
                - name: me
                  user:
                    tokenFile: token.txt
                contexts:
                - name: team
                  context: {cluster: shared, user: me, namespace: agents}
                """);
            File.WriteAllText(Path.Combine(directory.FullName, "a", "token.txt"), "from-a\n");
            File.WriteAllText(second, """
                current-context: other
                clusters:
                - name: shared
                  cluster: {server: "https://10.9.8.7:6443"}
                users:
                - name: me
                  user: {token: from-b}
                contexts:
                - name: other
                  context: {cluster: shared, user: me}
                """);

            var merged = Kubeconfig.LoadMerged([first, second]);
            var other = Kubeconfig.LoadMerged([first, second], "other");

            Assert.Equal((new Uri("https://10.9.8.7:6443"), "agents", "from-a"), (merged.Server, merged.Namespace, merged.Token!.GetToken()));
            Assert.Equal(("default", "from-a"), (other.Namespace, other.Token!.GetToken()));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void AnUnknownContextIsAClearError()
    {
        var error = Assert.Throws<FormatException>(() => Kubeconfig.Parse(TwoContexts, "third"));
        Assert.Contains("contexts has no entry named third", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ClientCertificateAndCaDataAreRead()
    {
        using var pki = TestPki.Create();
        using var client = pki.IssueClientCertificate("alice", "team-a");
        using var key = client.GetECDsaPrivateKey()!;
        string B64(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));
        var yaml = $$"""
            current-context: c
            clusters:
            - name: k
              cluster:
                server: https://127.0.0.1:1
                certificate-authority-data: {{B64(pki.CaPem)}}
            users:
            - name: u
              user:
                client-certificate-data: {{B64(client.ExportCertificatePem())}}
                client-key-data: {{B64(key.ExportPkcs8PrivateKeyPem())}}
            contexts:
            - name: c
              context:
                cluster: k
                user: u
            """;

        var config = Kubeconfig.Parse(yaml);

        Assert.Equal(pki.CaCertificate.Thumbprint, Assert.Single(config.CertificateAuthorities!).Thumbprint);
        Assert.Equal(client.Thumbprint, config.ClientCertificate!.Thumbprint);
        Assert.True(config.ClientCertificate.HasPrivateKey);
        Assert.Null(config.Token);
    }

    [Fact]
    public void AFileTokenIsReadAgainOnlyOnceItIsOlderThanTheRefreshInterval()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "first");
            var clock = new ManualClock();
            var token = new FileTokenProvider(path, TimeSpan.FromMinutes(1), clock);
            Assert.Equal("first", token.GetToken());

            File.WriteAllText(path, "rotated");
            clock.Advance(TimeSpan.FromSeconds(59));
            Assert.Equal("first", token.GetToken());

            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal("rotated", token.GetToken());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void InClusterConfigurationComesFromTheServiceAccountFilesAndEnvironment()
    {
        using var pki = TestPki.Create();
        var directory = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(Path.Combine(directory.FullName, "token"), "sa-token");
            File.WriteAllText(Path.Combine(directory.FullName, "ca.crt"), pki.CaPem);
            File.WriteAllText(Path.Combine(directory.FullName, "namespace"), "agent-metrics-system");
            var environment = new Dictionary<string, string?>
            {
                ["KUBERNETES_SERVICE_HOST"] = "10.0.0.1",
                ["KUBERNETES_SERVICE_PORT"] = "443",
            };

            var config = KubernetesClientConfiguration.InCluster(directory.FullName, environment);

            Assert.Equal(new Uri("https://10.0.0.1:443"), config.Server);
            Assert.Equal("agent-metrics-system", config.Namespace);
            Assert.Equal("sa-token", config.Token!.GetToken());
            Assert.IsType<FileTokenProvider>(config.Token);
            Assert.Single(config.CertificateAuthorities!);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void OutsideAClusterInClusterConfigurationSaysWhy()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => KubernetesClientConfiguration.InCluster("/nonexistent", new Dictionary<string, string?>()));
        Assert.Contains("KUBERNETES_SERVICE_HOST", error.Message, StringComparison.Ordinal);
    }
}
