namespace AgentMetrics.Kubernetes.Models;

/// <summary>authentication.k8s.io/v1 TokenReview: asks the API server whose a bearer token is.</summary>
public sealed class TokenReview : IKubernetesObject
{
    public string? ApiVersion { get; set; } = "authentication.k8s.io/v1";

    public string? Kind { get; set; } = "TokenReview";

    public ObjectMeta Metadata { get; set; } = new();

    public TokenReviewSpec Spec { get; set; } = new();

    public TokenReviewStatus? Status { get; set; }
}

/// <summary>authentication.k8s.io/v1 TokenReviewSpec.</summary>
public sealed class TokenReviewSpec
{
    public string? Token { get; set; }

    /// <summary>The audiences the token must be for; empty means the API server's own.</summary>
    public List<string>? Audiences { get; set; }
}

/// <summary>authentication.k8s.io/v1 TokenReviewStatus.</summary>
public sealed class TokenReviewStatus
{
    public bool Authenticated { get; set; }

    public UserInfo? User { get; set; }

    public List<string>? Audiences { get; set; }

    /// <summary>Why the token was not accepted, when it was not.</summary>
    public string? Error { get; set; }
}

/// <summary>authentication.k8s.io/v1 UserInfo: who a token belongs to.</summary>
public sealed class UserInfo
{
    public string? Username { get; set; }

    public string? Uid { get; set; }

    public List<string>? Groups { get; set; }

    /// <summary>What the authenticator adds, such as the pod a bound service-account token is bound to.</summary>
    public Dictionary<string, List<string>>? Extra { get; set; }
}
