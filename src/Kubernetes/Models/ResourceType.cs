namespace AgentMetrics.Kubernetes.Models;

/// <summary>Where a kind lives in the API: group, version, plural resource name, and whether it is namespaced.</summary>
public sealed record ResourceType(string Group, string Version, string Plural, string Kind, bool Namespaced = true)
{
    public static readonly ResourceType Pods = new("", "v1", "pods", "Pod");
    public static readonly ResourceType ConfigMaps = new("", "v1", "configmaps", "ConfigMap");
    public static readonly ResourceType Events = new("", "v1", "events", "Event");
    public static readonly ResourceType Secrets = new("", "v1", "secrets", "Secret");
    public static readonly ResourceType MutatingWebhookConfigurations = new(
        "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", Namespaced: false);
    public static readonly ResourceType ValidatingWebhookConfigurations = new(
        "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", Namespaced: false);
    public static readonly ResourceType Namespaces = new("", "v1", "namespaces", "Namespace", Namespaced: false);
    public static readonly ResourceType Leases = new("coordination.k8s.io", "v1", "leases", "Lease");
    public static readonly ResourceType TokenReviews = new("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", Namespaced: false);

    /// <summary>"v1" for the core group, otherwise "group/version".</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>The URL path of the collection, or of one object and optionally its subresource.</summary>
    public string Path(string? @namespace, string? name = null, string? subresource = null)
    {
        if (!Namespaced && @namespace is not null)
        {
            throw new ArgumentException($"{Plural} are cluster-scoped: no namespace may be given", nameof(@namespace));
        }

        if (Namespaced && @namespace is null && name is not null)
        {
            throw new ArgumentException($"{Plural} are namespaced: a namespace is required", nameof(@namespace));
        }

        var root = Group.Length == 0 ? "/api/v1" : $"/apis/{Group}/{Version}";
        var scope = @namespace is null ? "" : $"/namespaces/{Uri.EscapeDataString(@namespace)}";
        var one = name is null ? "" : $"/{Uri.EscapeDataString(name)}";
        var sub = subresource is null ? "" : $"/{subresource}";
        return $"{root}{scope}/{Plural}{one}{sub}";
    }
}
