using System.Net.Http.Headers;

namespace AgentMetrics.Testing;

/// <summary>
/// A real kube-apiserver: token and client-certificate authentication, RBAC, a serving
/// certificate from the test CA, and service-account signing keys.
/// </summary>
public sealed class KubeApiServer : LocalServer
{
    private readonly Uri _etcd;
    private readonly ControlPlaneOptions _options;
    private readonly HttpClient _http;

    private KubeApiServer(string directory, Uri etcd, TestPki pki, string adminToken, ControlPlaneOptions options)
        : base("kube-apiserver", directory)
    {
        _etcd = etcd;
        _options = options;
        Url = new Uri($"https://{options.Address}:{LoopbackPorts.Next()}");
        _http = new HttpClient(pki.CreateTrustingHandler());
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
    }

    /// <summary>The secure endpoint, served with a certificate the test CA signed.</summary>
    public Uri Url { get; }

    /// <summary>The CA certificate file.</summary>
    public string CaFile => Path.Combine(Directory, "ca.crt");

    /// <summary>The private key that signs service-account tokens.</summary>
    public string ServiceAccountKeyFile => Path.Combine(Directory, "sa.key");

    /// <inheritdoc />
    protected override string FileName => Tools.KubeApiServer;

    /// <inheritdoc />
    protected override IEnumerable<string> Arguments =>
    [
        $"--etcd-servers={_etcd.GetLeftPart(UriPartial.Authority)}",
        $"--bind-address={_options.Address}",
        $"--advertise-address={_options.Address}",
        $"--secure-port={Url.Port}",
        "--insecure-port=0",
        $"--cert-dir={Path.Combine(Directory, "certs")}",
        $"--tls-cert-file={Path.Combine(Directory, "serving.crt")}",
        $"--tls-private-key-file={Path.Combine(Directory, "serving.key")}",
        $"--client-ca-file={CaFile}",
        $"--token-auth-file={Path.Combine(Directory, "tokens.csv")}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        $"--service-account-key-file={Path.Combine(Directory, "sa.pub")}",
        $"--service-account-signing-key-file={ServiceAccountKeyFile}",
        "--service-cluster-ip-range=10.0.0.0/24",
        .. _options.InCluster
            // No kube-proxy routes cluster IPs: webhooks (and aggregated APIs) are called at the
            // addresses of their Service's ready endpoints instead.
            ? (string[])["--enable-aggregator-routing=true"]
            // The ServiceAccount admission plugin would reject pods until the token controller has
            // created the namespace's default account, a race every test would have to wait out.
            : ["--disable-admission-plugins=ServiceAccount"],
        "--allow-privileged=true",
        // A local node's name resolves nowhere: reach its kubelet (logs, exec) at the address it reports.
        "--kubelet-preferred-address-types=InternalIP,Hostname",
        "--v=1",
    ];

    /// <summary>Writes the certificates, keys and token file, then starts the server.</summary>
    /// <remarks>A second server on the same etcd passes the first one's <paramref name="serviceAccountKey"/>, so both accept the same tokens.</remarks>
    public static async Task<KubeApiServer> StartAsync(
        string directory, Uri etcd, TestPki pki, string adminToken, string? serviceAccountKey = null, ControlPlaneOptions? options = null)
    {
        options ??= new ControlPlaneOptions();
        var server = new KubeApiServer(directory, etcd, pki, adminToken, options);
        File.WriteAllText(server.CaFile, pki.CaPem);
        using (var serving = pki.IssueServingCertificate(
            "kube-apiserver",
            [.. new[] { "127.0.0.1", options.Address }.Distinct(), "10.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"]))
        {
            TestPki.WritePem(serving, Path.Combine(directory, "serving.crt"), Path.Combine(directory, "serving.key"));
        }

        using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        {
            if (serviceAccountKey is not null)
            {
                key.ImportFromPem(File.ReadAllText(serviceAccountKey));
            }

            File.WriteAllText(server.ServiceAccountKeyFile, key.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(directory, "sa.pub"), key.ExportSubjectPublicKeyInfoPem());
        }

        File.WriteAllText(Path.Combine(directory, "tokens.csv"), $"{adminToken},admin,admin-uid,\"system:masters\"\n");
        await server.StartAsync();
        return server;
    }

    /// <inheritdoc />
    protected override Task<bool> IsReadyAsync(CancellationToken cancellationToken) =>
        AnswersOkAsync(_http, new Uri(Url, "/readyz"), cancellationToken);
}
