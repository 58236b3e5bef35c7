using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace AgentMetrics.Operator.Certificates;

/// <summary>A certificate and its private key as PEM text ending in a newline, the way a kubernetes.io/tls Secret holds them.</summary>
public sealed record PemPair(string Certificate, string Key)
{
    /// <summary>The certificate alone.</summary>
    public X509Certificate2 Load() => X509Certificate2.CreateFromPem(Certificate);

    /// <summary>The certificate with its private key, ready to serve or sign.</summary>
    public X509Certificate2 LoadWithKey() => X509Certificate2.CreateFromPem(Certificate, Key);
}

/// <summary>Creates the operator's own CA and the webhook's serving certificates (ECDSA P-256, SHA-256).</summary>
public static class Pki
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>A self-signed CA valid from a minute ago for <paramref name="lifetime"/>.</summary>
    public static PemPair CreateCa(TimeSpan lifetime, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=agent-metrics-ca-{now.ToUnixTimeSeconds()}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(now.AddMinutes(-1), now.Add(lifetime));
        return new PemPair(ca.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>A serving certificate for <paramref name="hosts"/> (DNS names or IP addresses), signed by <paramref name="ca"/>, never outliving it.</summary>
    public static PemPair IssueServing(PemPair ca, IReadOnlyList<string> hosts, TimeSpan lifetime, DateTimeOffset now)
    {
        using var issuer = ca.LoadWithKey();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={hosts.FirstOrDefault() ?? "agent-metrics-operator"}", key, HashAlgorithmName.SHA256);
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
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuth)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var notAfter = now.Add(lifetime) < issuer.NotAfter ? now.Add(lifetime) : new DateTimeOffset(issuer.NotAfter.ToUniversalTime());
        using var certificate = request.Create(issuer, now.AddMinutes(-1), notAfter, RandomNumberGenerator.GetBytes(16));
        return new PemPair(certificate.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Whether <paramref name="certificate"/> has used up <paramref name="share"/> of its validity, or more, at <paramref name="now"/>.</summary>
    public static bool Spent(X509Certificate2 certificate, double share, DateTimeOffset now)
    {
        var from = certificate.NotBefore.ToUniversalTime();
        var to = certificate.NotAfter.ToUniversalTime();
        return now.UtcDateTime >= from + ((to - from) * share);
    }

    /// <summary>Whether <paramref name="certificate"/> was signed by <paramref name="ca"/>.</summary>
    public static bool IssuedBy(X509Certificate2 certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        return chain.Build(certificate);
    }

    /// <summary>Whether <paramref name="certificate"/> names exactly <paramref name="hosts"/>.</summary>
    public static bool Names(X509Certificate2 certificate, IReadOnlyList<string> hosts)
    {
        var extension = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (extension is null)
        {
            return false;
        }

        var present = extension.EnumerateDnsNames().Concat(extension.EnumerateIPAddresses().Select(ip => ip.ToString())).ToHashSet();
        return present.SetEquals(hosts);
    }
}
