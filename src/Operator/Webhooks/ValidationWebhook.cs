using System.Text.Json;
using System.Text.Json.Nodes;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;

namespace AgentMetrics.Operator.Webhooks;

/// <summary>
/// The validating admission webhook for both kinds: it runs the same validators as the reconcilers,
/// over the informers' view of the namespace, and refuses with every broken rule named by field.
/// </summary>
public static class ValidationWebhook
{
    public const string DefinitionsPath = "/validate/agentmetricdefinitions";
    public const string ThresholdsPath = "/validate/alertthresholds";

    /// <summary>Maps both webhook endpoints.</summary>
    public static void MapValidationWebhooks(this IEndpointRouteBuilder endpoints, OperatorRuntime runtime)
    {
        endpoints.MapPost(DefinitionsPath, (HttpRequest request) => ReviewAsync(request, (obj, ns) =>
        {
            var definition = obj.Deserialize(ApiJsonContext.Default.AgentMetricDefinition)!;
            return DefinitionValidator.Validate(definition, runtime.AgentIndex.Context(ns, definition.Spec.Selector));
        }));
        endpoints.MapPost(ThresholdsPath, (HttpRequest request) => ReviewAsync(request, (obj, ns) =>
            ThresholdValidator.Validate(
                obj.Deserialize(ApiJsonContext.Default.AlertThreshold)!,
                new ValidationContext { Definitions = runtime.Definitions.Cache.ListInNamespace(ns) })));
    }

    private static async Task<IResult> ReviewAsync(HttpRequest request, Func<JsonNode, string, IReadOnlyList<FieldError>> validate)
    {
        JsonNode? review;
        try
        {
            review = await JsonNode.ParseAsync(request.Body);
        }
        catch (JsonException e)
        {
            return Results.BadRequest(new JsonObject { ["error"] = $"not an AdmissionReview: {e.Message}" });
        }

        var admission = review?["request"];
        var uid = admission?["uid"]?.GetValue<string>();
        var obj = admission?["object"];
        if (uid is null || obj is null)
        {
            return Results.BadRequest(new JsonObject { ["error"] = "request.uid and request.object are required" });
        }

        var @namespace = admission!["namespace"]?.GetValue<string>() ?? "";
        IReadOnlyList<FieldError> errors;
        try
        {
            errors = validate(obj, @namespace);
        }
        catch (JsonException e)
        {
            errors = [new FieldError("spec", $"cannot be read: {e.Message}")];
        }

        var response = new JsonObject { ["uid"] = uid, ["allowed"] = errors.Count == 0 };
        if (errors.Count > 0)
        {
            var kind = obj["kind"]?.GetValue<string>();
            var name = obj["metadata"]?["name"]?.GetValue<string>();
            response["status"] = new JsonObject
            {
                ["code"] = 422,
                ["reason"] = "Invalid",
                ["message"] = $"{kind} {name} is invalid: {string.Join("; ", errors)}",
                ["details"] = new JsonObject
                {
                    ["name"] = name,
                    ["kind"] = kind,
                    ["causes"] = new JsonArray([.. errors.Select(e => (JsonNode)new JsonObject
                    {
                        ["reason"] = "FieldValueInvalid",
                        ["field"] = e.Field,
                        ["message"] = e.Message,
                    })]),
                },
            };
        }

        return Results.Json(new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["response"] = response,
        });
    }
}
