using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Operator.Certificates;

/// <summary>How the operator keeps its own CA and serving certificate when no cert-manager does.</summary>
public sealed record SelfManagedOptions
{
    /// <summary>The operator's namespace, where the Secret lives.</summary>
    public required string Namespace { get; init; }

    public string SecretName { get; init; } = "agent-metrics-webhook-tls";

    /// <summary>The names the serving certificate is for: the Service's DNS names (or an IP address).</summary>
    public required IReadOnlyList<string> Hosts { get; init; }

    /// <summary>Mutating and validating webhook configurations, by name, whose caBundle is kept current.</summary>
    public IReadOnlyList<string> WebhookConfigurations { get; init; } = ["agent-metrics"];

    public TimeSpan CaLifetime { get; init; } = TimeSpan.FromDays(5 * 365);

    public TimeSpan ServingLifetime { get; init; } = TimeSpan.FromDays(90);

    /// <summary>The share of a certificate's validity after which it is renewed: at two thirds, a third is left to spare.</summary>
    public double RenewAt { get; init; } = 2.0 / 3;

    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a new CA sits in the caBundle before anything is served signed by it, so every API
    /// server has the new bundle before it sees a certificate only the new CA vouches for.
    /// </summary>
    public TimeSpan PublishDelay { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// The operator's own CA and serving certificate, in a Secret every replica reads: created when missing,
/// renewed well before expiry, and the CA bundle written into the webhook configurations. A new CA is
/// added to the bundle beside the old one, and served only after <see cref="SelfManagedOptions.PublishDelay"/>,
/// so no admission fails while certificates change. Replicas race safely: the Secret is written only
/// with the resourceVersion it was read at.
/// </summary>
public sealed class SelfManagedCertificates(KubernetesClient client, SelfManagedOptions options, ILogger logger, TimeProvider? clock = null)
    : IServingCertificates
{
    public const string CaKey = "ca.key";
    public const string BundleKey = "ca.crt";
    public const string PublishedAnnotation = "agentmetrics.io/ca-published-at";

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private volatile Served? _served;

    /// <inheritdoc />
    public X509Certificate2? Current => _served?.Certificate;

    /// <inheritdoc />
    public string? CaBundle => _served?.Bundle;

    /// <summary>Checks, renews and publishes every <see cref="SelfManagedOptions.CheckInterval"/> until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await CheckAsync(cancellationToken);
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or TimeoutException or CryptographicException)
            {
                logger.LogWarning("webhook certificates: {Error}; trying again in {Interval}", e.Message, options.CheckInterval);
            }

            try
            {
                await Task.Delay(options.CheckInterval, _clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One pass: read the Secret, renew what is due, write it back, publish the bundle, serve the result.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var secret = await client.TryGetAsync(
            ResourceType.Secrets, options.Namespace, options.SecretName, KubernetesJsonContext.Default.KubernetesObject, cancellationToken);
        var state = State.Read(secret);
        var changed = false;

        using var currentCa = state.Ca?.Load();
        if (currentCa is null || currentCa.NotAfter.ToUniversalTime() <= now.UtcDateTime)
        {
            var created = Pki.CreateCa(options.CaLifetime, now);
            state = state with { Ca = created, Bundle = [created.Certificate], Published = now };
            changed = true;
            logger.LogInformation("webhook certificates: created a CA in Secret {Namespace}/{Name}", options.Namespace, options.SecretName);
        }
        else if (Pki.Spent(currentCa, options.RenewAt, now))
        {
            var next = Pki.CreateCa(options.CaLifetime, now);
            state = state with { Ca = next, Bundle = [next.Certificate, .. state.Bundle], Published = now };
            changed = true;
            logger.LogInformation("webhook certificates: the CA is renewed; the old one stays in the bundle until it expires");
        }

        var bundle = state.Bundle.Where(pem => Valid(pem, now)).Distinct().ToList();
        changed |= bundle.Count != state.Bundle.Count;
        state = state with { Bundle = bundle };

        if (ServingDue(state, now) is { } reason)
        {
            state = state with { Serving = Pki.IssueServing(state.Ca!, options.Hosts, options.ServingLifetime, now) };
            changed = true;
            logger.LogInformation("webhook certificates: issued a serving certificate ({Reason})", reason);
        }

        if (changed)
        {
            if (!await WriteAsync(secret, state, cancellationToken))
            {
                return;
            }
        }

        var bundleText = string.Concat(state.Bundle);
        foreach (var name in options.WebhookConfigurations)
        {
            await PublishAsync(ResourceType.MutatingWebhookConfigurations, name, bundleText, cancellationToken);
            await PublishAsync(ResourceType.ValidatingWebhookConfigurations, name, bundleText, cancellationToken);
        }

        if (_served?.Pem != state.Serving!.Certificate)
        {
            _served = new Served(state.Serving.LoadWithKey(), state.Serving.Certificate, bundleText);
        }
        else if (_served.Bundle != bundleText)
        {
            _served = _served with { Bundle = bundleText };
        }
    }

    /// <summary>Why the serving certificate must be issued now, or null when it may stay.</summary>
    private string? ServingDue(State state, DateTimeOffset now)
    {
        X509Certificate2 serving;
        try
        {
            serving = state.Serving?.LoadWithKey() ?? throw new CryptographicException("there is none");
        }
        catch (CryptographicException e)
        {
            return $"the stored one cannot be used: {e.Message}";
        }

        using (serving)
        {
            if (serving.NotAfter.ToUniversalTime() <= now.UtcDateTime)
            {
                return "the old one has expired";
            }

            if (!Pki.Names(serving, options.Hosts))
            {
                return $"the names changed to {string.Join(", ", options.Hosts)}";
            }

            using var ca = state.Ca!.Load();
            var due = Pki.Spent(serving, options.RenewAt, now) ? "the old one is due for renewal"
                : !Pki.IssuedBy(serving, ca) ? "the CA was renewed"
                : null;
            if (due is null)
            {
                return null;
            }

            // Until the new CA has been in the bundle long enough, a certificate the bundle still trusts is served on.
            var trusted = state.Bundle.Any(pem =>
            {
                using var authority = X509Certificate2.CreateFromPem(pem);
                return Pki.IssuedBy(serving, authority);
            });
            return trusted && now - state.Published < options.PublishDelay ? null : due;
        }
    }

    private async Task<bool> WriteAsync(KubernetesObject? existing, State state, CancellationToken cancellationToken)
    {
        var data = new JsonObject
        {
            ["tls.crt"] = Base64(state.Serving!.Certificate),
            ["tls.key"] = Base64(state.Serving.Key),
            [BundleKey] = Base64(string.Concat(state.Bundle)),
            [CaKey] = Base64(state.Ca!.Key),
        };
        var annotations = new Dictionary<string, string>(existing?.Metadata.Annotations ?? [])
        {
            [PublishedAnnotation] = state.Published.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
        var secret = new KubernetesObject
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new ObjectMeta
            {
                Name = options.SecretName,
                Namespace = options.Namespace,
                ResourceVersion = existing?.Metadata.ResourceVersion,
                Labels = new Dictionary<string, string>(existing?.Metadata.Labels ?? []) { [Rendering.Names.ManagedByLabel] = Rendering.Names.ManagedBy },
                Annotations = annotations,
            },
            Body = new JsonObject { ["type"] = "kubernetes.io/tls", ["data"] = data },
        };
        try
        {
            if (existing is null)
            {
                await client.CreateAsync(ResourceType.Secrets, options.Namespace, secret, KubernetesJsonContext.Default.KubernetesObject, cancellationToken);
            }
            else
            {
                await client.ReplaceAsync(
                    ResourceType.Secrets, options.Namespace, options.SecretName, secret, KubernetesJsonContext.Default.KubernetesObject,
                    cancellationToken: cancellationToken);
            }

            return true;
        }
        catch (KubernetesApiException e) when (e.IsConflict || e.IsAlreadyExists)
        {
            // Another replica wrote first: its certificates win, read on the next pass.
            logger.LogInformation("webhook certificates: another replica updated the Secret first");
            return false;
        }
    }

    private async Task PublishAsync(ResourceType type, string name, string bundle, CancellationToken cancellationToken)
    {
        var configuration = await client.TryGetAsync(type, null, name, KubernetesJsonContext.Default.KubernetesObject, cancellationToken);
        if (configuration?.Body["webhooks"] is not JsonArray webhooks)
        {
            return;
        }

        var encoded = Base64(bundle);
        var changed = false;
        foreach (var webhook in webhooks.OfType<JsonObject>())
        {
            if (webhook["clientConfig"] is JsonObject clientConfig && clientConfig["caBundle"]?.GetValue<string>() != encoded)
            {
                clientConfig["caBundle"] = encoded;
                changed = true;
            }
        }

        if (changed)
        {
            await client.ReplaceAsync(type, null, name, configuration, KubernetesJsonContext.Default.KubernetesObject, cancellationToken: cancellationToken);
            logger.LogInformation("webhook certificates: wrote the CA bundle into {Kind} {Name}", type.Kind, name);
        }
    }

    private static bool Valid(string pem, DateTimeOffset now)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(pem);
            return certificate.NotAfter.ToUniversalTime() > now.UtcDateTime;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private sealed record Served(X509Certificate2 Certificate, string Pem, string Bundle);

    /// <summary>What the Secret holds: the CA with its key, the bundle (current CA first), the serving pair, and when the CA was published.</summary>
    private sealed record State(PemPair? Ca, IReadOnlyList<string> Bundle, PemPair? Serving, DateTimeOffset Published)
    {
        public static State Read(KubernetesObject? secret)
        {
            var data = secret?.Body["data"] as JsonObject;
            string? Field(string key)
            {
                try
                {
                    return data?[key]?.GetValue<string>() is { } encoded ? Encoding.UTF8.GetString(Convert.FromBase64String(encoded)) : null;
                }
                catch (FormatException)
                {
                    return null;
                }
            }

            var bundle = new List<string>();
            if (Field(BundleKey) is { } bundleText)
            {
                var certificates = new X509Certificate2Collection();
                try
                {
                    certificates.ImportFromPem(bundleText);
                }
                catch (CryptographicException)
                {
                }

                bundle.AddRange(certificates.Select(c => c.ExportCertificatePem() + "\n"));
            }

            PemPair? ca = null;
            if (Field(CaKey) is { } caKey && bundle.Count > 0)
            {
                try
                {
                    using var loaded = X509Certificate2.CreateFromPem(bundle[0], caKey);
                    ca = new PemPair(bundle[0], caKey);
                }
                catch (CryptographicException)
                {
                }
            }

            var serving = Field("tls.crt") is { } cert && Field("tls.key") is { } key ? new PemPair(cert, key) : null;
            var published = secret?.Metadata.Annotations?.GetValueOrDefault(PublishedAnnotation) is { } stamp
                && DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at
                : DateTimeOffset.MinValue;
            return new State(ca, bundle, serving, published);
        }
    }
}
