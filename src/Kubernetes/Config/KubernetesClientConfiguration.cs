using System.Security.Cryptography.X509Certificates;

namespace AgentMetrics.Kubernetes.Config;

/// <summary>Where the API server is and how to authenticate to it and trust it.</summary>
public sealed class KubernetesClientConfiguration
{
    /// <summary>The default location of a pod's service-account credentials.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>How often an in-cluster token is read again.</summary>
    public static readonly TimeSpan TokenRefresh = TimeSpan.FromMinutes(1);

    /// <summary>The API server's base URL.</summary>
    public required Uri Server { get; init; }

    /// <summary>The namespace of the context, or the pod's own namespace in a cluster.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>CAs trusted for the server's certificate; null uses the system's trust store.</summary>
    public X509Certificate2Collection? CertificateAuthorities { get; init; }

    /// <summary>Accept any server certificate (only ever for local experiments).</summary>
    public bool InsecureSkipTlsVerify { get; init; }

    /// <summary>A client certificate with its private key, for x509 authentication.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>A bearer token source, for token authentication.</summary>
    public ITokenProvider? Token { get; init; }

    /// <summary>
    /// The configuration a program would expect: $KUBECONFIG (a list of files, merged as kubectl merges
    /// them; those that do not exist are passed over), else ~/.kube/config, else the in-cluster service
    /// account. <paramref name="context"/> names a context instead of the current one.
    /// </summary>
    public static KubernetesClientConfiguration Default(string? context = null)
    {
        if (Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } fromEnvironment
            && fromEnvironment.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(File.Exists).ToList() is { Count: > 0 } files)
        {
            return Kubeconfig.LoadMerged(files, context);
        }

        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        return File.Exists(home) ? Kubeconfig.Load(home, context) : InCluster();
    }

    /// <summary>
    /// The pod's own service account: KUBERNETES_SERVICE_HOST and _PORT, and the token, CA and
    /// namespace files, the token read again every minute.
    /// </summary>
    public static KubernetesClientConfiguration InCluster(
        string serviceAccountDirectory = ServiceAccountDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        string? Env(string name) => environment is null ? Environment.GetEnvironmentVariable(name) : environment.GetValueOrDefault(name);
        var host = Env("KUBERNETES_SERVICE_HOST");
        var port = Env("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
        {
            throw new InvalidOperationException(
                "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
        }

        var tokenPath = Path.Combine(serviceAccountDirectory, "token");
        if (!File.Exists(tokenPath))
        {
            throw new InvalidOperationException($"not running in a cluster: {tokenPath} does not exist");
        }

        var authority = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";
        var namespacePath = Path.Combine(serviceAccountDirectory, "namespace");
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(Path.Combine(serviceAccountDirectory, "ca.crt"));
        return new KubernetesClientConfiguration
        {
            Server = new Uri($"https://{authority}"),
            Namespace = File.Exists(namespacePath) ? File.ReadAllText(namespacePath).Trim() : "default",
            CertificateAuthorities = authorities,
            Token = new FileTokenProvider(tokenPath, TokenRefresh),
        };
    }
}
