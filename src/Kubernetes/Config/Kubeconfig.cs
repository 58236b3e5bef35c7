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

    /// <summary>
    /// Loads the files of a KUBECONFIG list merged as kubectl merges them: the first file that sets
    /// current-context decides it, the first entry of each name among clusters, users and contexts wins,
    /// and each entry's relative file references resolve against its own file's directory.
    /// </summary>
    public static KubernetesClientConfiguration LoadMerged(IReadOnlyList<string> paths, string? context = null)
    {
        if (paths.Count == 1)
        {
            return Load(paths[0], context);
        }

        var merged = new YamlMappingNode();
        var lists = new Dictionary<string, (YamlSequenceNode Entries, HashSet<string> Names)>();
        foreach (var path in paths)
        {
            var root = Root(File.ReadAllText(path));
            var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            if (Scalar(root, "current-context") is { } current && Scalar(merged, "current-context") is null)
            {
                merged.Add("current-context", current);
            }

            foreach (var key in new[] { "clusters", "users", "contexts" })
            {
                if (!lists.TryGetValue(key, out var list))
                {
                    list = (new YamlSequenceNode(), new HashSet<string>(StringComparer.Ordinal));
                    lists[key] = list;
                    merged.Add(key, list.Entries);
                }

                var entries = root.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlSequenceNode sequence
                    ? sequence.Children.OfType<YamlMappingNode>()
                    : [];
                foreach (var entry in entries.Where(e => Scalar(e, "name") is { } name && list.Names.Add(name)))
                {
                    Absolute(entry, directory);
                    list.Entries.Add(entry);
                }
            }
        }

        return Parse(merged, context, null);
    }

    /// <summary>Parses kubeconfig YAML.</summary>
    public static KubernetesClientConfiguration Parse(string yaml, string? context = null, string? baseDirectory = null) =>
        Parse(Root(yaml), context, baseDirectory);

    private static YamlMappingNode Root(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode mapping
            ? mapping
            : throw new FormatException("kubeconfig: the document is not a mapping");
    }

    /// <summary>Makes the relative file references of a cluster or user entry absolute, against <paramref name="directory"/>.</summary>
    private static void Absolute(YamlMappingNode entry, string directory)
    {
        foreach (var inner in new[] { "cluster", "user" })
        {
            if (!entry.Children.TryGetValue(new YamlScalarNode(inner), out var node) || node is not YamlMappingNode body)
            {
                continue;
            }

            foreach (var key in new[] { "certificate-authority", "client-certificate", "client-key", "tokenFile" })
            {
                if (Scalar(body, key) is { } file && !Path.IsPathRooted(file))
                {
                    body.Children[new YamlScalarNode(key)] = new YamlScalarNode(Path.Combine(directory, file));
                }
            }

            if (body.Children.TryGetValue(new YamlScalarNode("exec"), out var execNode) && execNode is YamlMappingNode exec
                && Scalar(exec, "command") is { } command && !Path.IsPathRooted(command) && command.Contains('/', StringComparison.Ordinal))
            {
                exec.Children[new YamlScalarNode("command")] = new YamlScalarNode(Path.GetFullPath(Path.Combine(directory, command)));
            }
        }
    }

    private static KubernetesClientConfiguration Parse(YamlMappingNode root, string? context, string? baseDirectory)
    {
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

            if (user.Children.TryGetValue(new YamlScalarNode("exec"), out var execNode) && execNode is YamlMappingNode exec)
            {
                var caPem = authorities is null ? null : string.Concat(authorities.Select(c => c.ExportCertificatePem() + "\n"));
                token = new ExecCredentialProvider(
                    Exec(exec, userName!, baseDirectory), new Uri(server), caPem, Scalar(cluster, "insecure-skip-tls-verify") == "true");
            }
            else if (Scalar(user, "token") is { } staticToken)
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

    /// <summary>A user's exec section, checked as kubectl checks it.</summary>
    private static ExecConfig Exec(YamlMappingNode exec, string user, string? baseDirectory)
    {
        var command = Scalar(exec, "command") ?? throw new FormatException($"kubeconfig: user {user}: exec.command must name the credential plugin");
        var apiVersion = Scalar(exec, "apiVersion");
        if (apiVersion is null || !ExecConfig.ApiVersions.Contains(apiVersion))
        {
            throw new FormatException(
                $"kubeconfig: user {user}: exec.apiVersion must be {string.Join(" or ", ExecConfig.ApiVersions)}, got \"{apiVersion}\"");
        }

        var interactiveMode = Scalar(exec, "interactiveMode");
        if (interactiveMode is null && apiVersion == "client.authentication.k8s.io/v1")
        {
            throw new FormatException($"kubeconfig: user {user}: exec.interactiveMode must be set (Never, IfAvailable or Always) with {apiVersion}");
        }

        if (interactiveMode is not (null or "Never" or "IfAvailable" or "Always"))
        {
            throw new FormatException($"kubeconfig: user {user}: exec.interactiveMode must be Never, IfAvailable or Always, got \"{interactiveMode}\"");
        }

        // As kubectl: a relative path with a directory in it is relative to the kubeconfig; a bare name is looked up on PATH.
        if (baseDirectory is not null && !Path.IsPathRooted(command) && command.Contains('/', StringComparison.Ordinal))
        {
            command = Path.GetFullPath(Path.Combine(baseDirectory, command));
        }

        var args = exec.Children.TryGetValue(new YamlScalarNode("args"), out var argsNode) && argsNode is YamlSequenceNode argList
            ? argList.Children.OfType<YamlScalarNode>().Select(a => a.Value ?? "").ToList()
            : [];
        var env = exec.Children.TryGetValue(new YamlScalarNode("env"), out var envNode) && envNode is YamlSequenceNode envList
            ? envList.Children.OfType<YamlMappingNode>()
                .Select(e => KeyValuePair.Create(
                    Scalar(e, "name") ?? throw new FormatException($"kubeconfig: user {user}: every exec.env entry needs a name"),
                    e.Children.TryGetValue(new YamlScalarNode("value"), out var v) && v is YamlScalarNode { Value: { } value } ? value : ""))
                .ToList()
            : [];
        return new ExecConfig
        {
            Command = command,
            Args = args,
            Env = env,
            ApiVersion = apiVersion,
            InteractiveMode = interactiveMode ?? "IfAvailable",
            ProvideClusterInfo = Scalar(exec, "provideClusterInfo") == "true",
            InstallHint = Scalar(exec, "installHint"),
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
