using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace AgentMetrics.Operator;

/// <summary>
/// The process metrics every Prometheus client library publishes (process_cpu_seconds_total,
/// process_resident_memory_bytes and the rest), read from the process at scrape time, so the
/// dashboards and alerts written for any operator's process work on this one.
/// </summary>
public static class ProcessMetrics
{
    /// <summary>The meter every instrument below belongs to; its names are exported as they are.</summary>
    public const string MeterName = "AgentMetrics.Process";

    private static readonly Meter Meter = new(MeterName);
    private static readonly double StartTime = Process.GetCurrentProcess().StartTime.ToUniversalTime().Subtract(DateTime.UnixEpoch).TotalSeconds;

    static ProcessMetrics()
    {
        Meter.CreateObservableCounter(
            "process_cpu_seconds_total", () => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
            description: "Total user and system CPU time spent in seconds.");
        Meter.CreateObservableGauge(
            "process_resident_memory_bytes", () => Environment.WorkingSet, description: "Resident memory size in bytes.");
        Meter.CreateObservableGauge(
            "process_virtual_memory_bytes", () => Process.GetCurrentProcess().VirtualMemorySize64, description: "Virtual memory size in bytes.");
        Meter.CreateObservableGauge(
            "process_start_time_seconds", () => StartTime, description: "Start time of the process since unix epoch in seconds.");
        Meter.CreateObservableGauge(
            "process_open_fds", OpenFileDescriptors, description: "Number of open file descriptors.");
        Meter.CreateObservableGauge(
            "process_max_fds", MaxFileDescriptors, description: "Maximum number of open file descriptors.");
    }

    /// <summary>Creates the instruments, once (the static constructor runs before this); a listener started after this sees them.</summary>
    public static void Register()
    {
    }

    private static IEnumerable<Measurement<long>> OpenFileDescriptors() =>
        Directory.Exists("/proc/self/fd") ? [new(Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount())] : [];

    private static IEnumerable<Measurement<long>> MaxFileDescriptors()
    {
        if (!File.Exists("/proc/self/limits"))
        {
            yield break;
        }

        // "Max open files            1048576              1048576              files"
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var limit))
        {
            yield return new(limit);
        }
    }
}
