using System.Net;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Kubernetes.Client;

/// <summary>A request the API server refused, carrying its Status (code, reason, message, causes).</summary>
public sealed class KubernetesApiException(Status status)
    : Exception($"{status.Code} {status.Reason}: {status.Message}")
{
    /// <summary>The API server's account of the failure.</summary>
    public Status Status { get; } = status;

    /// <summary>The HTTP status code.</summary>
    public HttpStatusCode StatusCode => (HttpStatusCode)Status.Code;

    /// <summary>404: the object or its namespace does not exist.</summary>
    public bool IsNotFound => Status.Code == 404;

    /// <summary>409 AlreadyExists on create.</summary>
    public bool IsAlreadyExists => Status.Code == 409 && Status.Reason == "AlreadyExists";

    /// <summary>409 Conflict: the write was based on a stale resourceVersion.</summary>
    public bool IsConflict => Status.Code == 409 && Status.Reason != "AlreadyExists";

    /// <summary>410 Gone: the requested resourceVersion is older than the history the server keeps.</summary>
    public bool IsGone => Status.Code == 410;

    /// <summary>422 Invalid: the object failed validation; <see cref="Status"/> names the fields.</summary>
    public bool IsInvalid => Status.Code == 422;

    /// <summary>429: the server asks the client to slow down.</summary>
    public bool IsTooManyRequests => Status.Code == 429;

    /// <summary>
    /// 403 with the cause NamespaceTerminating: the namespace is being deleted, so nothing new can be
    /// written into it, now or later; whatever asked for the write goes with the namespace.
    /// </summary>
    public bool IsNamespaceTerminating =>
        Status.Code == 403 && Status.Details?.Causes?.Any(c => c.Reason == "NamespaceTerminating") == true;
}
