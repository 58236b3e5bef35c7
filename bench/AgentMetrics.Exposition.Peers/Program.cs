// The exposition peers of `make bench-sidecar`: a process that holds the bench's 1000 × 10 set in another
// library and serves it on /metrics over HTTP, so the bench can scrape it end to end beside the sidecar.
//   prometheus-net PORT   prometheus-net's KestrelMetricServer
//   opentelemetry PORT    the OpenTelemetry .NET SDK's Prometheus exporter on its HttpListener
using System.Globalization;
using AgentMetrics.Exposition.Peers;

if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
{
    Console.Error.WriteLine("usage: AgentMetrics.Exposition.Peers prometheus-net|opentelemetry PORT");
    return 2;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

switch (args[0])
{
    case "prometheus-net":
        await PrometheusNetPeer.ServeAsync(port, stop.Token);
        return 0;
    case "opentelemetry":
        await OpenTelemetryPeer.ServeAsync(port, stop.Token);
        return 0;
    default:
        Console.Error.WriteLine($"unknown peer '{args[0]}': prometheus-net or opentelemetry");
        return 2;
}
