namespace AgentMetrics.Sidecar.Metrics;

/// <summary>
/// State an input keeps beside one series (OTLP's cumulative streams with their last values), held by
/// the series so it goes when the series goes, while the store knows nothing of the input.
/// </summary>
public abstract class SeriesState
{
    /// <summary>How many sources the state tracks; each counts toward the sidecar's series limit.</summary>
    public abstract int Sources { get; }
}
