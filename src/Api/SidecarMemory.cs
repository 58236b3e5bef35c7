namespace AgentMetrics.Api;

/// <summary>
/// The memory the injector gives the sidecar container by default, sized from the sidecar's measured
/// peak at its default caps (see docs/injection.md); shared so that the sidecar's tests run it under
/// the heap limit .NET derives from the same figure.
/// </summary>
public static class SidecarMemory
{
    /// <summary>The container's memory request, in MiB.</summary>
    public const int RequestMebibytes = 96;

    /// <summary>The container's memory limit, in MiB.</summary>
    public const int LimitMebibytes = 256;

    /// <summary>The request as a Kubernetes quantity.</summary>
    public static string Request => $"{RequestMebibytes}Mi";

    /// <summary>The limit as a Kubernetes quantity.</summary>
    public static string Limit => $"{LimitMebibytes}Mi";

    /// <summary>
    /// The GC heap limit .NET sets itself in a container with <see cref="LimitMebibytes"/>: 75 % of the
    /// cgroup's memory limit, when neither DOTNET_GCHeapHardLimit nor a percentage is given.
    /// </summary>
    public static long HeapHardLimitBytes => LimitMebibytes * 1024L * 1024 * 3 / 4;
}
