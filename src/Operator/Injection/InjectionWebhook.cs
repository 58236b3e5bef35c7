using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Runtime;

namespace AgentMetrics.Operator.Injection;

/// <summary>What the mutating webhook needs besides the pod: options, the flag, and facts found at start.</summary>
public sealed record InjectionContext
{
    public required SidecarOptions Sidecar { get; init; }

    public required FeatureGate Feature { get; init; }

    /// <summary>Namespaces never injected, whatever their labels: kube-system, kube-public and the operator's own.</summary>
    public required IReadOnlySet<string> ExcludedNamespaces { get; init; }

    /// <summary>The CA bundle sidecars trust the operator by, read at each admission because it rotates.</summary>
    public required Func<string?> OperatorCa { get; init; }

    /// <summary>Whether the API server runs sidecar init containers (1.29 and later).</summary>
    public required bool NativeSidecar { get; init; }
}

/// <summary>
/// The mutating admission webhook on pod CREATE. It never refuses a pod: a pod it does not concern,
/// or cannot inject, is admitted as it came (or, on a port collision, with an annotation saying why).
/// </summary>
public static class InjectionWebhook
{
    public const string Path = "/mutate/pods";

    private static readonly Meter Meter = new(Streaming.StreamMetrics.MeterName);

    private static readonly Counter<long> Admissions = Meter.CreateCounter<long>(
        "injection_admissions_total", description: "Pod admissions the injection webhook answered, by outcome.");

    private static readonly Histogram<double> Duration = Meter.CreateHistogram(
        "injection_admission_duration_seconds", "s", "Time to answer one pod admission, body read to response written.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25] });

    /// <summary>Maps the webhook's endpoint.</summary>
    public static void MapInjectionWebhook(this IEndpointRouteBuilder endpoints, InjectionContext context) =>
        endpoints.MapPost(Path, (HttpRequest request, ILoggerFactory logs) => ReviewAsync(request, context, logs.CreateLogger("injection")));

    /// <summary>Answers one AdmissionReview; public for the benchmark and the tests.</summary>
    public static JsonObject Review(JsonNode review, InjectionContext context, ILogger logger)
    {
        var admission = review["request"] ?? throw new FormatException("request is required");
        var uid = admission["uid"]?.GetValue<string>() ?? throw new FormatException("request.uid is required");
        var response = new JsonObject { ["uid"] = uid, ["allowed"] = true };
        var answer = new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["response"] = response };
        var outcome = Decide(admission, context, logger);
        Admissions.Add(1, new KeyValuePair<string, object?>("outcome", outcome.Outcome.ToString().ToLowerInvariant()));
        if (outcome.Pod is not null)
        {
            var patch = JsonPatch.Diff(admission["object"], outcome.Pod);
            if (patch.Count > 0)
            {
                response["patchType"] = "JSONPatch";
                response["patch"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(patch.ToJsonString()));
            }
        }

        return answer;
    }

    private static InjectionResult Decide(JsonNode admission, InjectionContext context, ILogger logger)
    {
        var @namespace = admission["namespace"]?.GetValue<string>() ?? "";
        if (admission["object"] is not JsonObject pod || admission["kind"]?["kind"]?.GetValue<string>() is not (null or "Pod"))
        {
            return new(InjectionOutcome.Untouched, "not a pod");
        }

        if (admission["operation"]?.GetValue<string>() is { } operation && operation != "CREATE")
        {
            return new(InjectionOutcome.Untouched, $"{operation} is not CREATE");
        }

        if (context.ExcludedNamespaces.Contains(@namespace))
        {
            return new(InjectionOutcome.Untouched, $"namespace {@namespace} is never injected");
        }

        if (!context.Feature.Enabled)
        {
            return new(InjectionOutcome.Untouched, "agent metrics are switched off");
        }

        try
        {
            return PodInjector.Decide(pod, context.Sidecar, context.OperatorCa(), context.NativeSidecar);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            // The API server validates the pod after this; an odd shape here is admitted untouched, never refused.
            logger.LogWarning("pod in {Namespace} admitted without the sidecar: {Error}", @namespace, e.Message);
            return new(InjectionOutcome.Untouched, e.Message);
        }
    }

    private static async Task<IResult> ReviewAsync(HttpRequest request, InjectionContext context, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        JsonObject answer;
        try
        {
            var review = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted)
                ?? throw new FormatException("the body is null");
            answer = Review(review, context, logger);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return Results.BadRequest(new JsonObject { ["error"] = $"not an AdmissionReview: {e.Message}" });
        }

        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return Results.Json(answer, Kubernetes.Models.KubernetesJsonContext.Default.JsonObject);
    }
}
