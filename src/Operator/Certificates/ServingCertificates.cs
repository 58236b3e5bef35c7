using System.Security.Cryptography.X509Certificates;

namespace AgentMetrics.Operator.Certificates;

/// <summary>The certificate the operator serves HTTPS with, and the CA bundle clients trust it by; both may change while it runs.</summary>
public interface IServingCertificates
{
    /// <summary>The serving certificate with its key; null until there is one.</summary>
    X509Certificate2? Current { get; }

    /// <summary>The CA bundle (PEM) that signs <see cref="Current"/>, if known.</summary>
    string? CaBundle { get; }
}

/// <summary>
/// A certificate from files, such as a Secret cert-manager keeps and the kubelet mounts: read again when
/// the files change, so a renewal is served without a restart.
/// </summary>
public sealed class FileCertificates(string certFile, string keyFile, string? caFile, TimeProvider? clock = null) : IServingCertificates
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(10);
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private (X509Certificate2 Certificate, string? Bundle, DateTime CertWritten, DateTime KeyWritten)? _loaded;
    private DateTimeOffset _checked = DateTimeOffset.MinValue;

    /// <inheritdoc />
    public X509Certificate2? Current => Load()?.Certificate;

    /// <inheritdoc />
    public string? CaBundle => Load()?.Bundle;

    private (X509Certificate2 Certificate, string? Bundle, DateTime CertWritten, DateTime KeyWritten)? Load()
    {
        var now = _clock.GetUtcNow();
        lock (_lock)
        {
            if (_loaded is not null && now - _checked < CheckEvery)
            {
                return _loaded;
            }

            _checked = now;
            var certWritten = File.GetLastWriteTimeUtc(certFile);
            var keyWritten = File.GetLastWriteTimeUtc(keyFile);
            if (_loaded is { } loaded && loaded.CertWritten == certWritten && loaded.KeyWritten == keyWritten)
            {
                return _loaded;
            }

            // A half-written pair (new certificate, old key) fails to load: keep serving the previous one until both are in place.
            try
            {
                var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
                var bundle = caFile is not null && File.Exists(caFile) ? File.ReadAllText(caFile) : null;
                _loaded = (certificate, bundle, certWritten, keyWritten);
            }
            catch (System.Security.Cryptography.CryptographicException) when (_loaded is not null)
            {
            }

            return _loaded;
        }
    }
}
