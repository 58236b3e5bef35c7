using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Operator.Certificates;
using AgentMetrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AgentMetrics.Operator.Tests;

/// <summary>
/// The operator's own CA and serving certificate on the real API server: a CA and a certificate about
/// to expire are replaced and the caBundle updated while pods are created through a webhook whose
/// failure policy is Fail, so a single failed admission fails the test.
/// </summary>
[Collection(OperatorCollection.Name)]
public sealed class CertificateTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnExpiringCaAndCertificateAreRenewedAndTheCaBundleUpdatedWithNoFailedAdmission()
    {
        var plane = await ControlPlane.SharedAsync();
        await using var system = await plane.CreateNamespaceAsync("opcerts");
        await using var agents = await plane.CreateNamespaceAsync("agents", InjectionTests.OptedIn);
        // Both two minutes old and more than two thirds through their life: the CA expires in 40 s, the certificate in 30 s.
        var past = DateTimeOffset.UtcNow.AddSeconds(-60);
        var oldCa = Pki.CreateCa(TimeSpan.FromSeconds(100), past);
        var oldServing = Pki.IssueServing(oldCa, ["127.0.0.1"], TimeSpan.FromSeconds(90), past);
        await plane.Kubectl.RunWithInputAsync(Secret(system.Name, oldCa, oldServing), "apply", "-f", "-");

        var url = new Uri($"https://127.0.0.1:{LoopbackPorts.Next()}");
        var webhook = $"agent-metrics-test-{agents.Name}";
        await using var app = await OperatorHarness.ServeAsync(plane, system.Name, url: url, configure: settings => settings with
        {
            WebhookCertificates = "self",
            WebhookHosts = "127.0.0.1",
            WebhookConfigurations = webhook,
            CertificateTimings = new SelfManagedOptions
            {
                Namespace = system.Name,
                Hosts = [],
                CaLifetime = TimeSpan.FromHours(1),
                ServingLifetime = TimeSpan.FromHours(1),
                CheckInterval = TimeSpan.FromMilliseconds(250),
                PublishDelay = TimeSpan.FromSeconds(6),
            },
        });
        await using var hook = await InjectionTests.RegisterAsync(plane, agents.Name, url, oldCa.Certificate, failurePolicy: "Fail");

        // The new CA is in the bundle but not served yet: pods keep coming until it is, and after; not one admission may fail.
        using var oldAuthority = X509Certificate2.CreateFromPem(oldCa.Certificate);
        using (var before = await ServedCertificateAsync(url))
        {
            Assert.True(Pki.IssuedBy(before, oldAuthority), "the old CA's certificate is served until the new CA has been published long enough");
        }

        var created = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var pod = await InjectionTests.CreatePodAsync(app.Client, agents.Name, InjectionTests.Pod($"p{created++}"));
            Assert.Equal(1, InjectionTests.Sidecars(pod));
            await Task.Delay(50);
        }

        output.WriteLine($"{created} pods created through the rotation, none refused");

        var secret = await app.Client.GetAsync(ResourceType.Secrets, system.Name, "agent-metrics-webhook-tls", KubernetesJsonContext.Default.KubernetesObject);
        var bundle = Decode(secret.Body["data"]![SelfManagedCertificates.BundleKey]!);
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPem(bundle);
        Assert.Equal(2, authorities.Count);
        Assert.Equal(oldAuthority.Thumbprint, authorities[1].Thumbprint);
        Assert.True(authorities[0].NotAfter > DateTime.Now.AddMinutes(50), "the new CA lives an hour");

        var published = await plane.Kubectl.RunAsync("get", "mutatingwebhookconfiguration", webhook, "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}");
        Assert.Equal(bundle, Encoding.ASCII.GetString(Convert.FromBase64String(published)));

        using var served = await ServedCertificateAsync(url);
        Assert.True(Pki.IssuedBy(served, authorities[0]), "the served certificate is signed by the new CA");
        Assert.False(Pki.IssuedBy(served, oldAuthority), "the served certificate is no longer signed by the old CA");
        Assert.True(served.NotAfter > DateTime.Now.AddMinutes(50), $"the served certificate lives an hour, not {served.NotAfter:O}");
        Assert.Equal(bundle, app.Certificates.CaBundle);
    }

    /// <summary>The certificate the server at <paramref name="url"/> presents, taken from the TLS handshake itself.</summary>
    private static async Task<X509Certificate2> ServedCertificateAsync(Uri url)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(url.Host, url.Port);
        X509Certificate2? presented = null;
        await using var tls = new SslStream(tcp.GetStream(), false, (_, certificate, _, _) =>
        {
            presented = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            return true;
        });
        await tls.AuthenticateAsClientAsync("127.0.0.1");
        return presented ?? throw new InvalidOperationException("no certificate was presented");
    }

    private static string Decode(JsonNode node) => Encoding.UTF8.GetString(Convert.FromBase64String((string)node!));

    private static string Secret(string @namespace, PemPair ca, PemPair serving)
    {
        static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = "agent-metrics-webhook-tls", ["namespace"] = @namespace },
            ["type"] = "kubernetes.io/tls",
            ["data"] = new JsonObject
            {
                ["tls.crt"] = Encode(serving.Certificate),
                ["tls.key"] = Encode(serving.Key),
                [SelfManagedCertificates.BundleKey] = Encode(ca.Certificate),
                [SelfManagedCertificates.CaKey] = Encode(ca.Key),
            },
        }.ToJsonString();
    }
}
