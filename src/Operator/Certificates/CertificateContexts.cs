using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace AgentMetrics.Operator.Certificates;

/// <summary>
/// The TLS certificate context of the serving certificate, built once per certificate and handed to
/// every handshake until the certificate is rotated, so connections share one chain and one native
/// TLS context instead of each building its own.
/// </summary>
public sealed class CertificateContexts
{
    private readonly Lock _lock = new();
    private Entry? _last;

    /// <summary>The context of <paramref name="certificate"/>, the one built before when it is the same certificate.</summary>
    public SslStreamCertificateContext For(X509Certificate2 certificate)
    {
        if (Volatile.Read(ref _last) is { } last && ReferenceEquals(last.Certificate, certificate))
        {
            return last.Context;
        }

        lock (_lock)
        {
            if (_last is not { } known || !ReferenceEquals(known.Certificate, certificate))
            {
                // offline: the chain is built from what is at hand, with no revocation fetch in a handshake.
                known = new Entry(certificate, SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true));
                Volatile.Write(ref _last, known);
            }

            return known.Context;
        }
    }

    private sealed record Entry(X509Certificate2 Certificate, SslStreamCertificateContext Context);
}
