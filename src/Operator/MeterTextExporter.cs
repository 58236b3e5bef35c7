using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace AgentMetrics.Operator;

/// <summary>
/// Serves the operator's own System.Diagnostics.Metrics instruments on /metrics in the Prometheus
/// text format 0.0.4: counters as totals, histograms with cumulative buckets, observable gauges read
/// at scrape time. Meant for the operator's few, low-rate instruments.
/// </summary>
public sealed class MeterTextExporter : IDisposable
{
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<Instrument, SortedDictionary<string, Series>> _series = [];
    private readonly string _prefix;

    /// <summary>Listens to the meters named <paramref name="meters"/>; names get <paramref name="prefix"/>.</summary>
    public MeterTextExporter(IEnumerable<string> meters, string prefix)
    {
        _prefix = prefix;
        var wanted = meters.ToHashSet();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (wanted.Contains(instrument.Meter.Name))
            {
                lock (_lock)
                {
                    _series.TryAdd(instrument, new SortedDictionary<string, Series>(StringComparer.Ordinal));
                }

                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>The exposition of every instrument seen so far.</summary>
    public string Scrape()
    {
        _listener.RecordObservableInstruments();
        var text = new StringBuilder();
        lock (_lock)
        {
            foreach (var (instrument, series) in _series.OrderBy(s => s.Key.Name, StringComparer.Ordinal))
            {
                var name = _prefix + instrument.Name;
                var type = instrument switch
                {
                    Counter<long> or Counter<int> or Counter<double> => "counter",
                    Histogram<double> or Histogram<long> => "histogram",
                    _ => "gauge",
                };
                text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(instrument.Description ?? instrument.Name)).Append('\n');
                text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
                foreach (var (labels, value) in series)
                {
                    if (type == "histogram")
                    {
                        var cumulative = 0L;
                        for (var i = 0; i < Buckets.Length; i++)
                        {
                            cumulative += value.Buckets![i];
                            Line(text, $"{name}_bucket", Join(labels, $"le=\"{Buckets[i].ToString(CultureInfo.InvariantCulture)}\""), cumulative);
                        }

                        Line(text, $"{name}_bucket", Join(labels, "le=\"+Inf\""), value.Count);
                        Line(text, $"{name}_sum", labels, value.Sum);
                        Line(text, $"{name}_count", labels, value.Count);
                    }
                    else
                    {
                        Line(text, name, labels, value.Sum);
                    }
                }
            }
        }

        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = Labels(tags);
        lock (_lock)
        {
            var all = _series[instrument];
            if (!all.TryGetValue(labels, out var series))
            {
                all[labels] = series = new Series(instrument is Histogram<double> or Histogram<long> ? new long[Buckets.Length] : null);
            }

            switch (instrument)
            {
                case Histogram<double> or Histogram<long>:
                    var bucket = Array.FindIndex(Buckets, b => value <= b);
                    if (bucket >= 0)
                    {
                        series.Buckets![bucket]++;
                    }

                    series.Count++;
                    series.Sum += value;
                    break;
                case Counter<long> or Counter<int> or Counter<double>:
                    series.Sum += value;
                    break;
                default:
                    series.Sum = value;
                    break;
            }
        }
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            pairs.Add($"{key}=\"{EscapeValue(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}\"");
        }

        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    private static string Join(string labels, string extra) => labels.Length == 0 ? extra : $"{labels},{extra}";

    private static void Line(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(Format(value)).Append('\n');
    }

    private static string Format(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string EscapeValue(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string EscapeHelp(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Series(long[]? buckets)
    {
        public long[]? Buckets { get; } = buckets;

        public double Sum { get; set; }

        public long Count { get; set; }
    }
}
