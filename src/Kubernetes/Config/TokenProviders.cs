namespace AgentMetrics.Kubernetes.Config;

/// <summary>Supplies the bearer token for each request.</summary>
public interface ITokenProvider
{
    /// <summary>The token to send now.</summary>
    string GetToken();

    /// <summary>
    /// The API server refused <paramref name="token"/> (401): a provider that can get a new one forgets
    /// it, so the next <see cref="GetToken"/> does. The others keep what they have.
    /// </summary>
    void Refused(string token)
    {
    }
}

/// <summary>A token that never changes (from a kubeconfig).</summary>
public sealed class StaticTokenProvider(string token) : ITokenProvider
{
    /// <inheritdoc />
    public string GetToken() => token;
}

/// <summary>
/// A token read from a file and read again once it is older than the refresh interval, because
/// projected service-account tokens are rotated by the kubelet.
/// </summary>
public sealed class FileTokenProvider(string path, TimeSpan refresh, TimeProvider? clock = null) : ITokenProvider
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private string? _token;
    private long _readAt;

    /// <summary>The token file.</summary>
    public string Path { get; } = path;

    /// <inheritdoc />
    public string GetToken()
    {
        lock (_lock)
        {
            if (_token is null || _clock.GetElapsedTime(_readAt) >= refresh)
            {
                _token = File.ReadAllText(Path).Trim();
                _readAt = _clock.GetTimestamp();
            }

            return _token;
        }
    }
}
