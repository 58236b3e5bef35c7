namespace AgentMetrics.Cli.Prometheus;

/// <summary>
/// A Prometheus query that got no answer: the server could not be reached (or the API server's proxy to it
/// refused), or Prometheus refused the query. The message says which, for a status line or stderr.
/// </summary>
public sealed class PrometheusException(string message, bool unreachable, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>True when no Prometheus answered at all; false when one answered with an error.</summary>
    public bool Unreachable { get; } = unreachable;
}
