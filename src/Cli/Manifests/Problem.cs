namespace AgentMetrics.Cli.Manifests;

/// <summary>How much a problem matters: an error fails validation, a warning does not.</summary>
public enum Severity
{
    Error,
    Warning,
}

/// <summary>One problem with one object: where it is, the field and the rule it breaks.</summary>
public sealed record Problem(string File, int Line, string Kind, string Namespace, string Name, string Field, string Rule, Severity Severity)
{
    /// <summary>
    /// The problem as one line, <c>file:line: kind/name: field: rule</c>, the shape compilers and
    /// editors link to; a warning says so after the position.
    /// </summary>
    public override string ToString() =>
        $"{File}:{Line}: {(Severity == Severity.Warning ? "warning: " : "")}{Kind}/{Name}: {Field}: {Rule}";
}
