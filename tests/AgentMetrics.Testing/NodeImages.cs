namespace AgentMetrics.Testing;

/// <summary>
/// The images a <see cref="LocalNode"/> runs, built by <c>make images</c> (hack/build-images.sh) and
/// imported into its containerd. Nothing can be pulled here, so pods name them with
/// <c>imagePullPolicy: IfNotPresent</c> or <c>Never</c>; the names are the kubelet's normal form.
/// </summary>
public static class NodeImages
{
    /// <summary>The pod sandbox: the pause program alone.</summary>
    public const string Pause = "docker.io/agentmetrics/pause:dev";

    /// <summary>The metrics sidecar, as src/Sidecar/Dockerfile describes it.</summary>
    public const string Sidecar = "docker.io/agentmetrics/agent-metrics-sidecar:dev";

    /// <summary>The operator, as src/Operator/Dockerfile describes it.</summary>
    public const string Operator = "docker.io/agentmetrics/agent-metrics-operator:dev";

    /// <summary>An agent that reports a finished task to its sidecar every AGENT_INTERVAL_MS, and relays to it the work it is given on AGENT_WORK_PORT (<see cref="NodeAgent"/>).</summary>
    public const string ExampleAgent = "docker.io/agentmetrics/example-agent:dev";

    /// <summary>The archives in <see cref="Tools.ImageDirectory"/>.</summary>
    public static IReadOnlyList<string> Archives { get; } = ["pause.tar", "agent-metrics-sidecar.tar", "agent-metrics-operator.tar", "example-agent.tar"];
}
