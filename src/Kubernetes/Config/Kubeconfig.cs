using System.Security.Cryptography.X509Certificates;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace AgentMetrics.Kubernetes.Config;

/// <summary>Reads a kubeconfig file: the current context or a named one.</summary>
public static class Kubeconfig
{
    /// <summary>Loads <paramref name="path"/>; relative file references resolve against its directory.</summary>
    public static KubernetesClientConfiguration Load(string path, string? context = null) =>
        Parse(File.ReadAllText(path), context, Path.GetDirectoryName(Path.GetFullPath(path)));

    /// <summary>Parses kubeconfig YAML.</summary>
    public static KubernetesClientConfiguration Parse(string yaml, string? context = null, string? baseDirectory = null)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode mapping
            ? mapping
            : throw new FormatException("kubeconfig: the document is not a mapping");

        var contextName = context ?? Scalar(root, "current-context")
            ?? throw new FormatException("kubeconfig: no context was named and current-context is not set");
        var contextNode = Named(root, "contexts", contextName, "context");
        var clusterName = Scalar(contextNode, "cluster") ?? throw new FormatException($"kubeconfig: context {contextName} names no cluster");
        var cluster = Named(root, "clusters", clusterName, "cluster");
        var userName = Scalar(contextNode, "user");
        var user = userName is null ? null : Named(root, "users", userName, "user");

        var server = Scalar(cluster, "server") ?? throw new FormatException($"kubeconfig: cluster {clusterName} has no server");
        string Resolve(string file) => baseDirectory is null ? file : Path.Combine(baseDirectory, file);

        X509Certificate2Collection? authorities = null;
        if (Scalar(cluster, "certificate-authority-data") is { } caData)
        {
            authorities = [];
            authorities.ImportFromPem(Encoding.UTF8.GetString(Convert.FromBase64String(caData)));
        }
        else if (Scalar(cluster, "certificate-authority") is { } caFile)
        {
            authorities = [];
            authorities.ImportFromPemFile(Resolve(caFile));
        }

        X509Certificate2? clientCertificate = null;
        ITokenProvider? token = null;
        if (user is not null)
        {
            var certPem = Scalar(user, "client-certificate-data") is { } certData
                ? Encoding.UTF8.GetString(Convert.FromBase64String(certData))
                : Scalar(user, "client-certificate") is { } certFile ? File.ReadAllText(Resolve(certFile)) : null;
            var keyPem = Scalar(user, "client-key-data") is { } keyData
                ? Encoding.UTF8.GetString(Convert.FromBase64String(keyData))
                : Scalar(user, "client-key") is { } keyFile ? File.ReadAllText(Resolve(keyFile)) : null;
            if (certPem is not null && keyPem is not null)
            {
                using var pem = X509Certificate2.CreateFromPem(certPem, keyPem);
                // A PKCS#12 round trip gives SslStream a key it can use on every platform.
                clientCertificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }

            if (Scalar(user, "token") is { } staticToken)
            {
                token = new StaticTokenProvider(staticToken);
            }
            else if (Scalar(user, "tokenFile") is { } tokenFile)
            {
                token = new FileTokenProvider(Resolve(tokenFile), KubernetesClientConfiguration.TokenRefresh);
            }
        }

        return new KubernetesClientConfiguration
        {
            Server = new Uri(server),
            Namespace = Scalar(contextNode, "namespace") ?? "default",
            CertificateAuthorities = authorities,
            InsecureSkipTlsVerify = Scalar(cluster, "insecure-skip-tls-verify") == "true",
            ClientCertificate = clientCertificate,
            Token = token,
        };
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode { Value: { Length: > 0 } text }
            ? text
            : null;

    private static YamlMappingNode Named(YamlMappingNode root, string listKey, string name, string innerKey)
    {
        if (root.Children.TryGetValue(new YamlScalarNode(listKey), out var list) && list is YamlSequenceNode sequence)
        {
            foreach (var entry in sequence.Children.OfType<YamlMappingNode>())
            {
                if (Scalar(entry, "name") == name)
                {
                    return entry.Children.TryGetValue(new YamlScalarNode(innerKey), out var inner) && inner is YamlMappingNode body
                        ? body
                        : new YamlMappingNode();
                }
            }
        }

        throw new FormatException($"kubeconfig: {listKey} has no entry named {name}");
    }
}
