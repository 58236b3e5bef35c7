namespace AgentMetrics.Kubernetes.Client;

/// <summary>Query options for list calls.</summary>
public sealed record ListOptions
{
    public string? LabelSelector { get; init; }

    public string? FieldSelector { get; init; }

    /// <summary>The page size; the server returns a continue token when there is more.</summary>
    public int? Limit { get; init; }

    public string? Continue { get; init; }

    public string? ResourceVersion { get; init; }
}

/// <summary>Query options for watch calls.</summary>
public sealed record WatchOptions
{
    /// <summary>Watch changes after this version; null starts with synthetic ADDED events for every object.</summary>
    public string? ResourceVersion { get; init; }

    public string? LabelSelector { get; init; }

    public string? FieldSelector { get; init; }

    public bool AllowBookmarks { get; init; } = true;

    /// <summary>How long the server keeps the stream open before ending it cleanly.</summary>
    public int? TimeoutSeconds { get; init; }
}

/// <summary>How dependents are deleted along with their owner.</summary>
public enum PropagationPolicy
{
    /// <summary>Dependents are deleted in the background after the owner.</summary>
    Background,

    /// <summary>The owner stays (with a finalizer) until its blocking dependents are deleted.</summary>
    Foreground,

    /// <summary>Dependents are left, their owner references removed.</summary>
    Orphan,
}

/// <summary>The patch formats the API server takes.</summary>
public enum PatchKind
{
    /// <summary>RFC 7386 JSON merge patch.</summary>
    Merge,

    /// <summary>RFC 6902 JSON patch.</summary>
    Json,
}

/// <summary>When and how often a failed request is sent again.</summary>
public sealed record RetryOptions
{
    /// <summary>Attempts after the first one.</summary>
    public int MaxRetries { get; init; } = 5;

    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>One page of a list, or a whole list.</summary>
public sealed record ObjectList<T>(IReadOnlyList<T> Items, string? ResourceVersion, string? Continue);

/// <summary>What a watch event says happened.</summary>
public enum WatchEventType
{
    Added,
    Modified,
    Deleted,
    Bookmark,
}

/// <summary>One event of a watch stream.</summary>
public sealed record WatchEvent<T>(WatchEventType Type, T Object);
