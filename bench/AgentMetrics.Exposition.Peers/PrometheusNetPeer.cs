using Prometheus;

namespace AgentMetrics.Exposition.Peers;

/// <summary>The set in a prometheus-net registry of its own (no default metrics), served by its KestrelMetricServer.</summary>
internal static class PrometheusNetPeer
{
    public static async Task ServeAsync(int port, CancellationToken stop)
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        for (var i = 0; i < BenchSet.Metrics; i++)
        {
            switch (i % 3)
            {
                case 0:
                    var histogram = factory.CreateHistogram(BenchSet.Name(i), BenchSet.Help(i), new HistogramConfiguration { Buckets = BenchSet.Buckets, LabelNames = BenchSet.LabelNames });
                    for (var j = 0; j < BenchSet.Series; j++)
                    {
                        var series = histogram.WithLabels(BenchSet.Agent, BenchSet.SeriesLabel(j));
                        series.Observe((j + 1) * 0.01);
                        series.Observe((j + 1) * 0.1);
                        series.Observe(j + 1);
                    }

                    break;
                case 1:
                    var counter = factory.CreateCounter(BenchSet.Name(i) + "_total", BenchSet.Help(i), new CounterConfiguration { LabelNames = BenchSet.LabelNames });
                    for (var j = 0; j < BenchSet.Series; j++)
                    {
                        counter.WithLabels(BenchSet.Agent, BenchSet.SeriesLabel(j)).Inc(j + 1);
                    }

                    break;
                default:
                    var gauge = factory.CreateGauge(BenchSet.Name(i), BenchSet.Help(i), new GaugeConfiguration { LabelNames = BenchSet.LabelNames });
                    for (var j = 0; j < BenchSet.Series; j++)
                    {
                        gauge.WithLabels(BenchSet.Agent, BenchSet.SeriesLabel(j)).Set(j * 1.5);
                    }

                    break;
            }
        }

        using var server = new KestrelMetricServer("127.0.0.1", port, "/metrics", registry);
        server.Start();
        await Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);
        await server.StopAsync();
    }
}
