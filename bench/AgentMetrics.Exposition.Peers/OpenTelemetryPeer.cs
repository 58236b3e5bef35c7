using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace AgentMetrics.Exposition.Peers;

/// <summary>
/// The set recorded through System.Diagnostics.Metrics instruments into the OpenTelemetry .NET SDK, the
/// histograms given the set's 16 bounds by a view, served by the SDK's Prometheus exporter on its HttpListener
/// (OpenTelemetry.Exporter.Prometheus.HttpListener; its SDK dependency comes with it).
/// </summary>
internal static class OpenTelemetryPeer
{
    public static async Task ServeAsync(int port, CancellationToken stop)
    {
        using var meter = new Meter("bench");
        using var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meter.Name)
            .AddView(instrument => instrument is Histogram<double> ? new ExplicitBucketHistogramConfiguration { Boundaries = BenchSet.Buckets } : null)
            .AddPrometheusHttpListener(options =>
            {
                options.Host = "127.0.0.1";
                options.Port = port;

                // Its default caches a rendered scrape for 300 ms; off, so that every scrape measured renders, as at a real interval.
                options.ScrapeResponseCacheDurationMilliseconds = 0;
            })
            .Build();
        for (var i = 0; i < BenchSet.Metrics; i++)
        {
            switch (i % 3)
            {
                case 0:
                    var histogram = meter.CreateHistogram<double>(BenchSet.Name(i), description: BenchSet.Help(i));
                    for (var j = 0; j < BenchSet.Series; j++)
                    {
                        var tags = Tags(j);
                        histogram.Record((j + 1) * 0.01, tags);
                        histogram.Record((j + 1) * 0.1, tags);
                        histogram.Record(j + 1, tags);
                    }

                    break;
                case 1:
                    var counter = meter.CreateCounter<double>(BenchSet.Name(i), description: BenchSet.Help(i));
                    for (var j = 0; j < BenchSet.Series; j++)
                    {
                        counter.Add(j + 1, Tags(j));
                    }

                    break;
                default:
                    var gauge = meter.CreateGauge<double>(BenchSet.Name(i), description: BenchSet.Help(i));
                    for (var j = 0; j < BenchSet.Series; j++)
                    {
                        gauge.Record(j * 1.5, Tags(j));
                    }

                    break;
            }
        }

        await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private static TagList Tags(int j) => new() { { "agent", BenchSet.Agent }, { "series", BenchSet.SeriesLabel(j) } };
}
