using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace AgentMetrics.Kubernetes.Client;

/// <summary>TLS server validation against a private CA bundle, as a kubeconfig or a mounted CA file gives it.</summary>
public static class CertificateTrust
{
    /// <summary>
    /// Whether <paramref name="presented"/> chains to one of <paramref name="authorities"/>: only chain errors
    /// are forgiven (the system store does not know the private CA), never a name mismatch or a missing certificate.
    /// </summary>
    public static bool TrustedBy(X509Certificate2Collection authorities, X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        return chain.Build(certificate);
    }
}
