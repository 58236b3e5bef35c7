namespace AgentMetrics.Testing;

/// <summary>A program the tests need is not installed; the message names it and how to get it.</summary>
public sealed class MissingDependencyException(string message) : Exception(message);
