using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace AgentMetrics.Operator;

/// <summary>
/// Serves the operator's own System.Diagnostics.Metrics instruments on /metrics in the Prometheus
/// text format 0.0.4: counters as totals, histograms with cumulative buckets (an instrument's advised
/// bounds, or a default set), observable instruments read at scrape time. Names follow Prometheus'
/// conventions for OpenTelemetry names: dots become underscores, a unit of s or By becomes a
/// _seconds or _bytes suffix, counters end in _total. Meant for the operator's few, low-rate instruments.
/// </summary>
public sealed class MeterTextExporter : IDisposable
{
    private static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<Instrument, SortedDictionary<string, Series>> _series = [];
    private readonly Dictionary<string, string> _prefixes;

    /// <summary>Listens to the meters named in <paramref name="meters"/>; each one's names get its prefix.</summary>
    public MeterTextExporter(IReadOnlyDictionary<string, string> meters)
    {
        _prefixes = new Dictionary<string, string>(meters, StringComparer.Ordinal);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (_prefixes.ContainsKey(instrument.Meter.Name))
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
            foreach (var (instrument, series, name) in _series.Select(s => (s.Key, s.Value, NameOf(s.Key))).OrderBy(s => s.Item3, StringComparer.Ordinal))
            {
                var type = TypeOf(instrument);
                var bounds = Buckets(instrument);
                text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(instrument.Description ?? instrument.Name)).Append('\n');
                text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
                foreach (var (labels, value) in series)
                {
                    if (type == "histogram")
                    {
                        var cumulative = 0L;
                        for (var i = 0; i < bounds.Count; i++)
                        {
                            cumulative += value.Buckets![i];
                            Line(text, $"{name}_bucket", Join(labels, $"le=\"{Format(bounds[i])}\""), cumulative);
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
                all[labels] = series = new Series(instrument is Histogram<double> or Histogram<long> ? new long[Buckets(instrument).Count] : null);
            }

            switch (instrument)
            {
                case Histogram<double> or Histogram<long>:
                    var bounds = Buckets(instrument);
                    var bucket = 0;
                    while (bucket < bounds.Count && value > bounds[bucket])
                    {
                        bucket++;
                    }

                    if (bucket < bounds.Count)
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

    private string NameOf(Instrument instrument)
    {
        var name = _prefixes[instrument.Meter.Name] + Sanitize(instrument.Name);
        if (TypeOf(instrument) == "gauge" && name.EndsWith("_count", StringComparison.Ordinal))
        {
            // A gauge may not end in _count, which Prometheus reads as a histogram's (dotnet.timer.count, dotnet.assembly.count).
            name = name[..^"_count".Length] + "_current";
        }

        name += instrument.Unit switch
        {
            "s" when !name.EndsWith("_seconds", StringComparison.Ordinal) => "_seconds",
            "By" when !name.EndsWith("_bytes", StringComparison.Ordinal) => "_bytes",
            _ => "",
        };
        return TypeOf(instrument) == "counter" && !name.EndsWith("_total", StringComparison.Ordinal) ? name + "_total" : name;
    }

    private static string TypeOf(Instrument instrument) => instrument switch
    {
        Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> => "counter",
        Histogram<double> or Histogram<long> => "histogram",
        _ => "gauge",
    };

    private static IReadOnlyList<double> Buckets(Instrument instrument) => instrument switch
    {
        Histogram<double> { Advice.HistogramBucketBoundaries: { Count: > 0 } bounds } => bounds,
        Histogram<long> { Advice.HistogramBucketBoundaries: { Count: > 0 } bounds } => [.. bounds.Select(b => (double)b)],
        _ => DefaultBuckets,
    };

    private static string Sanitize(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = char.IsAsciiLetterOrDigit(chars[i]) || chars[i] == '_' ? chars[i] : '_';
        }

        return new string(chars);
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var pairs = new List<string>(tags.Length);
        foreach (var (key, value) in tags)
        {
            pairs.Add($"{Sanitize(key)}=\"{EscapeValue(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}\"");
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
