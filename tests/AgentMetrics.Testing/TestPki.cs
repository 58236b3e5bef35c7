using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AgentMetrics.Testing;

/// <summary>A throw-away certificate authority for the local control plane and the servers tests host.</summary>
public sealed class TestPki : IDisposable
{
    private static readonly string[] ServerAuth = ["1.3.6.1.5.5.7.3.1"];
    private readonly ECDsa _caKey;

    private TestPki(ECDsa caKey, X509Certificate2 ca)
    {
        _caKey = caKey;
        CaCertificate = ca;
    }

    /// <summary>The CA certificate, without its key.</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>The CA certificate in PEM form.</summary>
    public string CaPem => CaCertificate.ExportCertificatePem();

    /// <summary>Creates a CA valid for a day.</summary>
    public static TestPki Create()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=agent-metrics-test-ca", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var withKey = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
        return new TestPki(key, X509CertificateLoader.LoadCertificate(withKey.RawData));
    }

    /// <summary>Issues a client certificate (with its private key): CN is the user, each O a group.</summary>
    public X509Certificate2 IssueClientCertificate(string user, params string[] groups)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = string.Join(", ", [$"CN={user}", .. groups.Select(g => $"O={g}")]);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ToOids(["1.3.6.1.5.5.7.3.2"]), false));
        return Sign(request, key, TimeSpan.FromDays(1));
    }

    /// <summary>Issues a serving certificate (with its private key) for the given DNS names and IP addresses.</summary>
    public X509Certificate2 IssueServingCertificate(string commonName, IEnumerable<string> hosts, TimeSpan? validFor = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts)
        {
            if (IPAddress.TryParse(host, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(ToOids(ServerAuth), false));
        return Sign(request, key, validFor ?? TimeSpan.FromDays(1));
    }

    /// <summary>Writes a certificate and its private key as PEM files.</summary>
    public static void WritePem(X509Certificate2 certificate, string certPath, string keyPath)
    {
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException("certificate has no ECDSA private key");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>An HTTP handler that trusts exactly this CA.</summary>
    public SocketsHttpHandler CreateTrustingHandler()
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            AgentMetrics.Kubernetes.Client.CertificateTrust.TrustedBy([CaCertificate], certificate, errors);
        return handler;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _caKey.Dispose();
        CaCertificate.Dispose();
    }

    private X509Certificate2 Sign(CertificateRequest request, ECDsa key, TimeSpan validFor)
    {
        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var generator = X509SignatureGenerator.CreateForECDsa(_caKey);
        using var issued = request.Create(CaCertificate.SubjectName, generator, now.AddHours(-1), now + validFor, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    private static OidCollection ToOids(IEnumerable<string> values)
    {
        var oids = new OidCollection();
        foreach (var value in values)
        {
            oids.Add(new Oid(value));
        }

        return oids;
    }
}
