using System.Text;
using System.Text.Json;
using AgentMetrics.Sidecar.Http;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Metrics;
using AgentMetrics.Sidecar.Otlp;

namespace AgentMetrics.Sidecar.Handlers;

/// <summary>The ingestion endpoints: read a capped body, parse it whole, then record it, or refuse it whole with a JSON answer.</summary>
internal sealed class IngestApi(MetricRegistry registry, AgentRecorder recorder, OtlpIntake intake, BodyReader bodies)
{
    private const string JsonType = "application/json; charset=utf-8";

    public async ValueTask EventsAsync(HttpRequest request)
    {
        // curl -d sends application/x-www-form-urlencoded unless told otherwise; the body is read as JSON all the same.
        if (!IsJson(request.ContentType, allowMissing: true)
            && !(request.ContentType ?? "").StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(request, "events", 415, $"Content-Type must be application/json, got \"{ClientText.Clip(request.ContentType)}\"");
            return;
        }

        var (body, problem) = await bodies.ReadAsync(request);
        if (body is null)
        {
            await RefuseAsync(request, "events", problem!);
            return;
        }

        using (body)
        {
            var errors = new List<IngestError>();
            var events = EventParser.Parse(body.Data, errors);
            if (errors.Count > 0)
            {
                await RefuseAsync(request, "events", 400, "the request was refused whole; nothing was recorded", errors);
                return;
            }

            var undefined = recorder.CheckObservations(events);
            if (undefined.Count > 0)
            {
                await RefuseAsync(request, "events", 422, "the request was refused whole; nothing was recorded", undefined);
                return;
            }

            foreach (var e in events)
            {
                recorder.Record(e);
            }

            registry.Self.Received("event", events.Count);
            await request.RespondAsync(200, JsonType, JsonSerializer.SerializeToUtf8Bytes(new EventsAccepted(events.Count), SidecarJsonContext.Readable.EventsAccepted));
        }
    }

    public ValueTask MetricsAsync(HttpRequest request) => OtlpAsync(request, "metrics", intake.Metrics);

    public ValueTask TracesAsync(HttpRequest request) => OtlpAsync(request, "traces", intake.Traces);

    private async ValueTask OtlpAsync(HttpRequest request, string endpoint, Func<ReadOnlyMemory<byte>, bool, OtlpOutcome> handle)
    {
        var contentType = request.ContentType;
        var json = IsJson(contentType, allowMissing: false);
        if (!json && !(contentType ?? "").StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(request, endpoint, 415,
                $"Content-Type must be application/x-protobuf or application/json, got \"{ClientText.Clip(contentType)}\"");
            return;
        }

        var (body, problem) = await bodies.ReadAsync(request);
        if (body is null)
        {
            await RefuseAsync(request, endpoint, problem!);
            return;
        }

        using (body)
        {
            OtlpOutcome outcome;
            try
            {
                outcome = handle(body.Data, json);
            }
            catch (ProtoException e)
            {
                await RefuseAsync(request, endpoint, 400, $"not a valid OTLP protobuf request: {e.Message}");
                return;
            }
            catch (OtlpJsonException e)
            {
                await RefuseAsync(request, endpoint, 400, "not a valid OTLP JSON request", [new IngestError(e.Path, e.Message[(e.Path.Length + 2)..])]);
                return;
            }

            await OtlpSuccessAsync(request, json, outcome);
        }
    }

    /// <summary>An Export…ServiceResponse in the request's encoding: empty, or with partial_success.</summary>
    private static async ValueTask OtlpSuccessAsync(HttpRequest request, bool json, OtlpOutcome outcome)
    {
        if (!json)
        {
            await request.RespondAsync(200, "application/x-protobuf", outcome.ToProtobuf());
            return;
        }

        await request.RespondAsync(200, "application/json", Encoding.UTF8.GetBytes(outcome.Message is not { } message
            ? "{}"
            : $"{{\"partialSuccess\":{{\"{(outcome.Signal == OtlpSignal.Traces ? "rejectedSpans" : "rejectedDataPoints")}\":\"{outcome.Rejected}\",\"errorMessage\":{JsonSerializer.Serialize(message, SidecarJsonContext.Readable.String)}}}}}"));
    }

    private Task RefuseAsync(HttpRequest request, string endpoint, BodyProblem problem) =>
        RefuseAsync(request, endpoint, problem.Status, problem.Message, retryAfterSeconds: problem.RetryAfterSeconds);

    private async Task RefuseAsync(
        HttpRequest request, string endpoint, int status, string error, IReadOnlyList<IngestError>? details = null, int? retryAfterSeconds = null)
    {
        registry.Self.Rejected(endpoint, status);
        await request.RespondAsync(
            status, JsonType, JsonSerializer.SerializeToUtf8Bytes(new ErrorResponse(error, details), SidecarJsonContext.Readable.ErrorResponse),
            retryAfterSeconds: retryAfterSeconds);
    }

    private static bool IsJson(string? contentType, bool allowMissing) =>
        string.IsNullOrEmpty(contentType) ? allowMissing : contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase);
}
