using System.Text;

namespace AgentMetrics.Testing;

/// <summary>Writes kubeconfig files for the local control plane.</summary>
public static class KubeconfigWriter
{
    /// <summary>A kubeconfig with one cluster, trusted by CA data, and a bearer-token user.</summary>
    public static string ForToken(Uri server, string caPem, string token) =>
        $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: local
          cluster:
            server: {server.GetLeftPart(UriPartial.Authority)}
            certificate-authority-data: {Convert.ToBase64String(Encoding.ASCII.GetBytes(caPem))}
        users:
        - name: admin
          user:
            token: {token}
        contexts:
        - name: local
          context:
            cluster: local
            user: admin
        current-context: local

        """;
}
