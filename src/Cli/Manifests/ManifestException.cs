namespace AgentMetrics.Cli.Manifests;

/// <summary>Input that cannot be read: a missing file, or a stream that is not YAML. The message is the one line the CLI prints.</summary>
public sealed class ManifestException(string message) : Exception(message);
