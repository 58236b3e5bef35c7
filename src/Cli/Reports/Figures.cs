namespace AgentMetrics.Cli.Reports;

/// <summary>What one row (a namespace, an agent or an agent version) did over one period, as summed from the hourly series.</summary>
public sealed class Figures
{
    /// <summary>Tasks finished, whatever their outcome.</summary>
    public double Tasks { get; set; }

    /// <summary>Tasks whose outcome was success.</summary>
    public double Succeeded { get; set; }

    /// <summary>Tasks whose outcome was failure.</summary>
    public double Failed { get; set; }

    /// <summary>The median task duration, in seconds, from the period's buckets; null without observations.</summary>
    public double? P50 { get; set; }

    /// <summary>The 99th percentile task duration, in seconds; null without observations.</summary>
    public double? P99 { get; set; }

    /// <summary>Dollars spent on tasks.</summary>
    public double CostSum { get; set; }

    /// <summary>Tasks whose cost was reported.</summary>
    public double CostCount { get; set; }

    /// <summary>Tokens, input and output.</summary>
    public double Tokens { get; set; }

    /// <summary>Escalations to a person or a higher tier.</summary>
    public double Escalations { get; set; }

    /// <summary>Hand-offs to another agent.</summary>
    public double Handoffs { get; set; }

    /// <summary>The share of tasks that succeeded; null without tasks.</summary>
    public double? CompletionRatio => Tasks > 0 ? Succeeded / Tasks : null;

    /// <summary>The share of tasks that failed; null without tasks.</summary>
    public double? ErrorRatio => Tasks > 0 ? Failed / Tasks : null;

    /// <summary>Dollars per task whose cost was reported; null without any.</summary>
    public double? CostPerTask => CostCount > 0 ? CostSum / CostCount : null;

    /// <summary>Adds the counts of <paramref name="other"/> (not its percentiles, which do not add).</summary>
    public void AddCounts(Figures other)
    {
        Tasks += other.Tasks;
        Succeeded += other.Succeeded;
        Failed += other.Failed;
        CostSum += other.CostSum;
        CostCount += other.CostCount;
        Tokens += other.Tokens;
        Escalations += other.Escalations;
        Handoffs += other.Handoffs;
    }
}
