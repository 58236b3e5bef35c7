// The sidecar's benchmarks, one mode per run so each gets a clean process:
//   micro [--artifacts DIR] [--aot] [BenchmarkDotNet arguments]   recording and exposition micro-benchmarks (--aot: compiled with NativeAOT)
//   load --out FILE [--connections N] [--seconds S]     ingestion rates and resident memory of the real sidecar
//   heap [--rounds N]                                   the live heap the 1000 x 10 set costs, without the HTTP layer
//   lag --out FILE [--samples N] [--mode push|scrape]   lag to a real Prometheus, pushed or scraped every second
//   lag-report --out FILE [--samples N] [--dashboard-samples N]   the lag report: push and scrape (1 s), many events in flight, and to the overview's stat
//   report --artifacts DIR --prom-client FILE --load FILE --lag FILE [--scrape FILE --scrape-table FILE] --out FILE
//   scrape --out FILE [--warmup N] [--scrapes N]        /metrics end to end over HTTP: the sidecar (identity, gzip) and its peers
//   floor PORT                                          the HTTP-only peer server the load mode starts
using System.Globalization;
using System.Text.Json;
using AgentMetrics.Sidecar.Bench;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

var json = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
string Option(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

switch (args.FirstOrDefault())
{
    case "micro":
        var rest = args.Skip(1).ToList();
        var artifacts = Option("--artifacts", Path.Combine(Path.GetTempPath(), "agent-metrics-sidecar-bench"));
        if (rest.IndexOf("--artifacts") is var at and >= 0)
        {
            rest.RemoveRange(at, 2);
        }

        var job = Job.Default.WithWarmupCount(5).WithIterationCount(20);
        if (rest.Remove("--aot"))
        {
            // Compiled ahead of time, as the sidecar ships, by the SDK's own ILCompiler (no version named: the one PublishAot takes).
            job = job.WithToolchain(BenchmarkDotNet.Toolchains.NativeAot.NativeAotToolchain.CreateBuilder()
                .UseNuGet(string.Empty, "https://api.nuget.org/v3/index.json")
                .TargetFrameworkMoniker("net10.0").DisplayName("NativeAOT").ToToolchain())
                // The generated boilerplate is not ours to keep warning-free.
                .WithArguments([new BenchmarkDotNet.Jobs.MsBuildArgument("/p:TreatWarningsAsErrors=false")]);
        }

        var config = ManualConfig.Create(DefaultConfig.Instance)
            // Compiling BenchmarkDotNet and its dependencies ahead of time takes minutes on two cores.
            .WithBuildTimeout(TimeSpan.FromMinutes(30))
            .WithArtifactsPath(artifacts)
            .AddExporter(JsonExporter.Full, MarkdownExporter.GitHub)
            .AddJob(job);
        BenchmarkSwitcher.FromTypes([typeof(RecordingBenchmarks), typeof(ExpositionBenchmarks)]).Run(rest.Count > 0 ? [.. rest] : ["--filter", "*"], config);
        return 0;
    case "load":
        var load = await LoadRun.RunAsync(
            int.Parse(Option("--connections", "4"), CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(int.Parse(Option("--seconds", "10"), CultureInfo.InvariantCulture)));
        await File.WriteAllTextAsync(Option("--out", "load.json"), JsonSerializer.Serialize(load, json));
        return 0;
    case "memory":
        await LoadRun.MemoryAsync(TimeSpan.FromSeconds(int.Parse(Option("--seconds", "10"), CultureInfo.InvariantCulture)));
        return 0;
    case "heap":
        HeapRun.Run(int.Parse(Option("--rounds", "20"), CultureInfo.InvariantCulture));
        return 0;
    case "lag":
        var lag = await LagRun.RunAsync(int.Parse(Option("--samples", "1000"), CultureInfo.InvariantCulture), Option("--mode", "push"));
        Console.WriteLine($"lag: {lag}");
        await File.WriteAllTextAsync(Option("--out", "lag.json"), JsonSerializer.Serialize(lag, json));
        return 0;
    case "lag-report":
        var count = int.Parse(Option("--samples", "1000"), CultureInfo.InvariantCulture);
        var pushed = await PipelinedLag.RunAsync(count, "push");
        Console.WriteLine($"push: {pushed}");
        var scraped = await PipelinedLag.RunAsync(count, "scrape");
        Console.WriteLine($"scrape: {scraped}");
        var dashboard = await DashboardLag.RunAsync(int.Parse(Option("--dashboard-samples", "60"), CultureInfo.InvariantCulture));
        Console.WriteLine($"dashboard stat: {dashboard}");
        string Line(string delivery, Lag l) => FormattableString.Invariant(
            $"| {delivery} | {l.Samples} | {l.P50:0} ms | {l.P90:0} ms | {l.P99:0} ms | {l.Max:0} ms | {l.TimedOut} |");
        await File.WriteAllTextAsync(Option("--out", "lag.md"), string.Join('\n',
        [
            "| delivery | events | p50 | p90 | p99 | max | not seen in 10 s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            Line("push (remote write, every 100 ms)", pushed),
            Line("scrape (Prometheus, every 1 s)", scraped),
            Line("push, to the fleet overview's \"Tasks per second\" stat (fleet totals recorded every 5 s)", dashboard),
            "",
        ]));
        return 0;
    case "report":
        var report = Report.Write(
            Option("--artifacts", ""),
            JsonSerializer.Deserialize<PromClientFigures>(await File.ReadAllTextAsync(Option("--prom-client", "")), json)!,
            File.Exists(Option("--load", "")) ? JsonSerializer.Deserialize<LoadFigures>(await File.ReadAllTextAsync(Option("--load", "")), json) : null,
            File.Exists(Option("--lag", "")) ? JsonSerializer.Deserialize<LagFigures>(await File.ReadAllTextAsync(Option("--lag", "")), json) : null,
            File.Exists(Option("--scrape", "")) ? JsonSerializer.Deserialize<ScrapeFigures>(await File.ReadAllTextAsync(Option("--scrape", "")), json) : null);
        await File.WriteAllTextAsync(Option("--out", "figures.md"), report);
        if (File.Exists(Option("--scrape", "")))
        {
            await File.WriteAllTextAsync(Option("--scrape-table", "scrape.md"), Report.ScrapeTable(JsonSerializer.Deserialize<ScrapeFigures>(await File.ReadAllTextAsync(Option("--scrape", "")), json)!));
        }

        return 0;
    case "scrape":
        var scrape = await ScrapeRun.RunAsync(
            int.Parse(Option("--warmup", "50"), CultureInfo.InvariantCulture), int.Parse(Option("--scrapes", "300"), CultureInfo.InvariantCulture));
        await File.WriteAllTextAsync(Option("--out", "scrape.json"), JsonSerializer.Serialize(scrape, json));
        return 0;
    case "floor":
        await HttpFloor.RunAsync(int.Parse(args[1], CultureInfo.InvariantCulture));
        return 0;
    default:
        Console.Error.WriteLine("usage: AgentMetrics.Sidecar.Bench micro|load|memory|heap|lag|lag-report|scrape|report|floor ... (see Program.cs)");
        return 2;
}
