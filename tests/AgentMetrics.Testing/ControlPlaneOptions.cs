namespace AgentMetrics.Testing;

/// <summary>
/// How a <see cref="ControlPlane"/> runs. The defaults suit tests with no pods: loopback only, pods
/// admitted without service-account tokens. <see cref="ForPods"/> suits a <see cref="LocalNode"/>
/// whose pods talk to the cluster.
/// </summary>
public sealed record ControlPlaneOptions
{
    /// <summary>The address the API server listens on and advertises.</summary>
    public string Address { get; init; } = "127.0.0.1";

    /// <summary>
    /// Pods get service-account tokens (the ServiceAccount admission plugin), Services get Endpoints
    /// (the endpoint controller), and the API server calls webhooks at their Service's endpoint
    /// addresses, as there is no kube-proxy to route a Service's cluster IP.
    /// </summary>
    public bool InCluster { get; init; }

    /// <summary>The plane of a node whose pods reach the API server at <paramref name="nodeAddress"/>.</summary>
    public static ControlPlaneOptions ForPods(string nodeAddress) => new() { Address = nodeAddress, InCluster = true };
}
