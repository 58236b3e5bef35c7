using System.CommandLine;

namespace AgentMetrics.Cli.Commands;

/// <summary>The arguments and flags every command that reads manifests takes.</summary>
internal static class ManifestArguments
{
    /// <summary>FILE, DIR or - (standard input), one or more.</summary>
    public static Argument<string[]> Paths() => new("FILE|DIR|-")
    {
        Description = "a manifest file (YAML or JSON, any number of documents, Lists too), a directory of them (recursively), or - for standard input",
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary>-n/--namespace, kubectl's meaning: where an object that names no namespace goes.</summary>
    public static Option<string> Namespace() => new("--namespace", "-n")
    {
        Description = "the namespace of objects that name none (rules across objects apply per namespace)",
        DefaultValueFactory = _ => "default",
        HelpName = "name",
    };
}
