using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentMetrics.Api.V1Alpha1;
using AgentMetrics.Api.Validation;

namespace AgentMetrics.Cli.Manifests;

/// <summary>What checking a stream found: every problem, and the objects the operator would render (those with no error).</summary>
public sealed record CheckResult(
    IReadOnlyList<Problem> Problems, IReadOnlyList<AgentMetricDefinition> Definitions, IReadOnlyList<AlertThreshold> Thresholds, int Checked);

/// <summary>
/// Checks the AgentMetricDefinitions and AlertThresholds of a manifest stream with the validators the
/// admission webhook and the reconcilers use, including the rules across objects of one namespace;
/// every other kind is passed over.
/// </summary>
public static partial class ManifestChecker
{
    // Objects read from files have no creationTimestamp; they are taken as created in the order they are
    // read, as `kubectl apply` would create them, so a conflict is the later object's, as at admission.
    private static readonly DateTimeOffset Epoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Checks <paramref name="manifests"/>; an object without a namespace is taken to be in <paramref name="defaultNamespace"/>.</summary>
    public static CheckResult Check(IReadOnlyList<Manifest> manifests, string defaultNamespace)
    {
        var problems = new List<Problem>();
        var definitions = new List<(Manifest Manifest, AgentMetricDefinition Object)>();
        var thresholds = new List<(Manifest Manifest, AlertThreshold Object)>();
        var seen = new Dictionary<string, Manifest>(StringComparer.Ordinal);
        var index = 0;
        var @checked = 0;
        foreach (var manifest in manifests)
        {
            if (manifest.Kind is not ("AgentMetricDefinition" or "AlertThreshold") || !manifest.ApiVersion.StartsWith(ApiGroup.Group + "/", StringComparison.Ordinal))
            {
                continue;
            }

            @checked++;
            var name = (manifest.Json["metadata"] as JsonObject)?["name"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : "";
            void Report(string field, string rule, string @namespace, Severity severity = Severity.Error) =>
                problems.Add(new(manifest.File, manifest.LineOf(field), manifest.Kind, @namespace, name, field, rule, severity));

            Kubernetes.Models.IKubernetesObject obj;
            try
            {
                obj = manifest.Kind == "AgentMetricDefinition"
                    ? manifest.Json.Deserialize(ApiJsonContext.Default.AgentMetricDefinition)!
                    : manifest.Json.Deserialize(ApiJsonContext.Default.AlertThreshold)!;
            }
            catch (JsonException e)
            {
                var field = e.Path is { Length: > 2 } path ? path[2..] : "(object)";
                Report(field, Expected(e.Message), defaultNamespace);
                continue;
            }

            var @namespace = obj.Metadata.Namespace is { Length: > 0 } given ? given : defaultNamespace;
            obj.Metadata.Namespace = @namespace;
            if (manifest.ApiVersion != ApiGroup.ApiVersion)
            {
                Report("apiVersion", $"must be {ApiGroup.ApiVersion}, the version the CRD serves, got \"{manifest.ApiVersion}\"", @namespace);
                continue;
            }

            if (name.Length == 0)
            {
                Report("metadata.name", "must be set", @namespace);
                continue;
            }

            var identity = $"{manifest.Kind}/{@namespace}/{name}";
            if (seen.TryGetValue(identity, out var first))
            {
                Report("metadata.name", $"{manifest.Kind} {name} appears twice in namespace {@namespace} (first at {first.File}:{first.Line}); the later copy would replace the earlier one", @namespace);
                continue;
            }

            seen[identity] = manifest;
            obj.Metadata.CreationTimestamp ??= Epoch.AddSeconds(index++);
            if (obj is AgentMetricDefinition definition)
            {
                definitions.Add((manifest, definition));
            }
            else
            {
                thresholds.Add((manifest, (AlertThreshold)obj));
            }
        }

        var validDefinitions = new List<AgentMetricDefinition>();
        var validThresholds = new List<AlertThreshold>();
        foreach (var group in definitions.GroupBy(d => d.Object.Metadata.Namespace!))
        {
            var context = OfflineContext.For([.. group.Select(d => d.Object)]);
            foreach (var (manifest, definition) in group)
            {
                var errors = DefinitionValidator.Validate(definition, context);
                problems.AddRange(errors.Select(e => Of(manifest, definition, e, Severity.Error)));
                if (errors.Count == 0)
                {
                    validDefinitions.Add(definition);
                }
            }
        }

        foreach (var (manifest, threshold) in thresholds)
        {
            var inNamespace = definitions.Select(d => d.Object).Where(d => d.Metadata.Namespace == threshold.Metadata.Namespace).ToList();
            var errors = ThresholdValidator.Validate(threshold, new ValidationContext { Definitions = inNamespace });
            problems.AddRange(errors.Select(e => Of(manifest, threshold, e, Severity.Error)));
            if (errors.Count > 0)
            {
                continue;
            }

            if (ThresholdValidator.MetricNotFound(threshold, inNamespace) is { } notFound)
            {
                problems.Add(Of(manifest, threshold, notFound, Severity.Warning));
            }
            else
            {
                validThresholds.Add(threshold);
            }
        }

        var sorted = problems
            .OrderBy(p => p.File, StringComparer.Ordinal)
            .ThenBy(p => p.Line)
            .ToList();
        return new CheckResult(sorted, validDefinitions, validThresholds, @checked);
    }

    private static Problem Of(Manifest manifest, Kubernetes.Models.IKubernetesObject obj, FieldError error, Severity severity) =>
        new(manifest.File, manifest.LineOf(error.Field), manifest.Kind, obj.Metadata.Namespace!, obj.Metadata.Name!, error.Field, error.Message, severity);

    /// <summary>What the schema wants where a value of the wrong type was given, from System.Text.Json's message.</summary>
    private static string Expected(string message) => ConvertedTo().Match(message) is { Success: true } match
        ? match.Groups[1].Value switch
        {
            "System.Int32" or "System.Int64" or "System.Nullable`1[System.Int32]" or "System.Nullable`1[System.Int64]" => "must be an integer",
            "System.Double" or "System.Nullable`1[System.Double]" => "must be a number",
            "System.String" => "must be a string",
            var type when type.StartsWith("System.Collections.Generic.List", StringComparison.Ordinal) => "must be a list",
            var type when type.StartsWith("System.Collections.Generic.Dictionary", StringComparison.Ordinal) => "must be a mapping of strings",
            _ => "must be a mapping",
        }
        : "does not fit the schema";

    [GeneratedRegex(@"could not be converted to ([^ .]+(?:\.[^ .]+)*(?:`1\[[^\]]+\])?)")]
    private static partial Regex ConvertedTo();
}
