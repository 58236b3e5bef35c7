using System.Text.Json.Serialization;

namespace AgentMetrics.Kubernetes.Models;

/// <summary>metav1.Status: what the API server says about a failed request.</summary>
public sealed class Status
{
    public string? Kind { get; set; }

    public string? ApiVersion { get; set; }

    /// <summary>"Success" or "Failure" (the JSON field <c>status</c>).</summary>
    [JsonPropertyName("status")]
    public string? Outcome { get; set; }

    public string? Message { get; set; }

    /// <summary>A machine-readable reason such as NotFound, AlreadyExists, Conflict, Invalid, Expired.</summary>
    public string? Reason { get; set; }

    public int Code { get; set; }

    public StatusDetails? Details { get; set; }
}

/// <summary>metav1.StatusDetails.</summary>
public sealed class StatusDetails
{
    public string? Name { get; set; }

    public string? Group { get; set; }

    public string? Kind { get; set; }

    public List<StatusCause>? Causes { get; set; }

    public int? RetryAfterSeconds { get; set; }
}

/// <summary>metav1.StatusCause: one reason a request was invalid, with the field it concerns.</summary>
public sealed class StatusCause
{
    public string? Reason { get; set; }

    public string? Message { get; set; }

    public string? Field { get; set; }
}
