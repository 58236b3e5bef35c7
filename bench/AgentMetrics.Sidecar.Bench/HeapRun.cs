using System.Buffers;
using System.Diagnostics;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Exposition;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar.Bench;

/// <summary>
/// The sidecar's data path without its HTTP layer, in this process: the 1000 × 10 set fed as OTLP and
/// written as an exposition, with the live heap it holds (after a full collection) and what the GC
/// kept around it. Tells the memory the series set costs from the memory the server costs.
/// </summary>
internal static class HeapRun
{
    public static void Run(int rounds)
    {
        var otlpMetrics = 1000 - BuiltInMetrics.All.Count;
        const int Chunk = 50;
        var chunks = (otlpMetrics + Chunk - 1) / Chunk;
        var bodies = Enumerable.Range(1, 8).Select(round => Enumerable.Range(0, chunks)
            .Select(k => Bodies.Set("set", k * Chunk, Math.Min(Chunk, otlpMetrics - (k * Chunk)), round)).ToArray()).ToArray();

        var before = GC.GetTotalMemory(true);
        var registry = new MetricRegistry([new("namespace", "bench"), new("pod", "bench-0"), new("agent", "bench-agent"), new("agent_version", "1.0.0")]);
        registry.DefineBuiltIns();
        var otlp = new OtlpRecorder(registry, new CustomMetrics(registry));
        var empty = GC.GetTotalMemory(true);
        foreach (var body in bodies[0])
        {
            Record(otlp, body);
        }

        var held = GC.GetTotalMemory(true);
        Console.WriteLine(FormattableString.Invariant(
            $"registry {(empty - before) / 1048576.0:0.00} MiB; the set {(held - empty) / 1048576.0:0.00} MiB for {registry.SeriesCount} series = {(held - empty) / (double)registry.SeriesCount:0} B/series"));

        var output = new ArrayBufferWriter<byte>(256 * 1024);
        var allocated = GC.GetTotalAllocatedBytes(true);
        var clock = Stopwatch.StartNew();
        for (var n = 1; n <= rounds; n++)
        {
            foreach (var body in bodies[n % bodies.Length])
            {
                Record(otlp, body);
            }

            output.ResetWrittenCount();
            ExpositionWriter.Write(registry, false, output);
        }

        var perRound = (GC.GetTotalAllocatedBytes(true) - allocated) / (double)rounds;
        var live = GC.GetTotalMemory(true);
        Console.WriteLine(FormattableString.Invariant(
            $"{rounds} rounds in {clock.Elapsed.TotalSeconds:0.0} s: {perRound / 1048576.0:0.00} MiB allocated a round (ingest of every series and a scrape); exposition {output.WrittenCount / 1048576.0:0.00} MiB in a {output.Capacity / 1048576.0:0.00} MiB buffer"));
        Console.WriteLine(FormattableString.Invariant(
            $"live after a full collection {live / 1048576.0:0.00} MiB (set and buffer {(live - empty) / 1048576.0:0.00} MiB)"));
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        Console.WriteLine(FormattableString.Invariant(
            $"GC: heap {info.HeapSizeBytes / 1048576.0:0.00} MiB, committed {info.TotalCommittedBytes / 1048576.0:0.00} MiB, fragmented {info.FragmentedBytes / 1048576.0:0.00} MiB, collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}"));
        // The runtime's own figure for how much gen0 may allocate before the next collection.
        if (typeof(GC).GetMethod("GetGenerationBudget", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static) is { } budget)
        {
            Console.WriteLine(FormattableString.Invariant($"  gen0 budget {(long)budget.Invoke(null, [0])! / 1048576.0:0.00} MiB"));
        }

        string[] names = ["gen0", "gen1", "gen2", "loh", "poh"];
        for (var g = 0; g < info.GenerationInfo.Length; g++)
        {
            var gen = info.GenerationInfo[g];
            Console.WriteLine(FormattableString.Invariant(
                $"  {names[g]}: before {gen.SizeBeforeBytes / 1048576.0:0.00} after {gen.SizeAfterBytes / 1048576.0:0.00} MiB, fragmented after {gen.FragmentationAfterBytes / 1048576.0:0.00}"));
        }

        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Rss", StringComparison.Ordinal) || line.StartsWith("VmRSS", StringComparison.Ordinal))
            {
                Console.WriteLine("  " + line);
            }
        }

        GC.KeepAlive(registry);
        GC.KeepAlive(output);
    }

    private static void Record(OtlpRecorder otlp, byte[] body) => otlp.Record(OtlpProtobufDecoder.DecodeMetrics(body));
}
