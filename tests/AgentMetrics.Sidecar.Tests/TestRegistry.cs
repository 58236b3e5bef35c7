using AgentMetrics.Sidecar.Custom;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>A registry with the recorders over it, as the sidecar wires them, for in-process tests.</summary>
internal sealed class TestRegistry
{
    public TestRegistry(MetricLimits? limits = null)
    {
        Registry = new MetricRegistry([new("namespace", "demo"), new("pod", "agent-0"), new("agent", "support"), new("agent_version", "")], limits);
        Custom = new CustomMetrics(Registry);
        Recorder = new AgentRecorder(Registry, Custom);
        Otlp = new OtlpRecorder(Registry, Custom);
    }

    public MetricRegistry Registry { get; }

    public CustomMetrics Custom { get; }

    public AgentRecorder Recorder { get; }

    public OtlpRecorder Otlp { get; }

    /// <summary>Parses and records a JSON events body; returns the errors (nothing recorded when any).</summary>
    public List<IngestError> Post(string json)
    {
        var errors = new List<IngestError>();
        var events = EventParser.Parse(System.Text.Encoding.UTF8.GetBytes(json), errors);
        if (errors.Count == 0)
        {
            errors.AddRange(Recorder.CheckObservations(events));
        }

        if (errors.Count == 0)
        {
            events.ForEach(Recorder.Record);
        }

        return errors;
    }

    /// <summary>The value of the one series of <paramref name="family"/> whose labels include <paramref name="labels"/>.</summary>
    public Series Series(string family, params string[] labels)
    {
        var f = Registry.Find(family) ?? throw new InvalidOperationException($"no family {family}");
        foreach (var s in f.Series)
        {
            var pairs = s.LabelPairs;
            var all = true;
            for (var i = 0; i + 1 < labels.Length; i += 2)
            {
                var found = false;
                for (var j = 0; j + 1 < pairs.Length; j += 2)
                {
                    found |= pairs[j] == labels[i] && pairs[j + 1] == labels[i + 1];
                }

                all &= found;
            }

            if (all)
            {
                return s;
            }
        }

        throw new InvalidOperationException($"no series of {family} with {string.Join(",", labels)}; it has {f.SeriesCount}");
    }

    /// <summary>The text exposition.</summary>
    public string Scrape(bool openMetrics = false)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Sidecar.Exposition.ExpositionWriter.Write(Registry, openMetrics, buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
