using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentMetrics.Kubernetes.Config;

/// <summary>
/// A kubeconfig user's <c>exec</c> section: the credential plugin EKS (aws eks get-token), GKE
/// (gke-gcloud-auth-plugin) and AKS (kubelogin) kubeconfigs name, and how to run it.
/// </summary>
public sealed record ExecConfig
{
    /// <summary>The API versions of the ExecCredential protocol this client speaks.</summary>
    public static readonly IReadOnlyList<string> ApiVersions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

    /// <summary>The program; a relative path with a directory in it is relative to the kubeconfig's directory.</summary>
    public required string Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Variables added to the environment the plugin inherits.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Env { get; init; } = [];

    /// <summary>The ExecCredential version the plugin is asked for and must answer in.</summary>
    public required string ApiVersion { get; init; }

    /// <summary>Never, IfAvailable or Always: whether the plugin may use the terminal (to ask for a login).</summary>
    public string InteractiveMode { get; init; } = "IfAvailable";

    /// <summary>Whether the plugin is told the cluster (server, CA) in KUBERNETES_EXEC_INFO.</summary>
    public bool ProvideClusterInfo { get; init; }

    /// <summary>What to tell a user whose machine lacks the plugin.</summary>
    public string? InstallHint { get; init; }
}

/// <summary>
/// Bearer tokens from a credential plugin (the client.authentication.k8s.io ExecCredential protocol, v1
/// and v1beta1): the plugin runs when a token is first needed, its token is kept until its
/// status.expirationTimestamp (for the process's life when it gives none), and it runs again when the
/// API server refuses the token (401).
/// </summary>
public sealed class ExecCredentialProvider(ExecConfig exec, Uri server, string? caPem, bool insecureSkipTlsVerify, TimeProvider? clock = null)
    : ITokenProvider
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private string? _token;
    private DateTimeOffset? _expires;

    /// <summary>The plugin, as the kubeconfig describes it.</summary>
    public ExecConfig Exec { get; } = exec;

    /// <inheritdoc />
    public string GetToken()
    {
        lock (_lock)
        {
            if (_token is null || (_expires is { } expires && _clock.GetUtcNow() >= expires))
            {
                (_token, _expires) = Run();
            }

            return _token;
        }
    }

    /// <inheritdoc />
    public void Refused(string token)
    {
        lock (_lock)
        {
            if (_token == token)
            {
                _token = null;
            }
        }
    }

    private (string Token, DateTimeOffset? Expires) Run()
    {
        var interactive = Exec.InteractiveMode != "Never" && !Console.IsInputRedirected;
        if (Exec.InteractiveMode == "Always" && !interactive)
        {
            throw new InvalidOperationException(
                $"exec plugin {Exec.Command}: its interactiveMode is Always, and there is no terminal to interact on");
        }

        var info = new ProcessStartInfo(Exec.Command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = !interactive,
            RedirectStandardInput = !interactive,
        };
        foreach (var argument in Exec.Args)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in Exec.Env)
        {
            info.Environment[name] = value;
        }

        info.Environment["KUBERNETES_EXEC_INFO"] = ExecInfo(interactive);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"exec plugin {Exec.Command} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"exec plugin {Exec.Command} cannot be run: {e.Message}{(Exec.InstallHint is { Length: > 0 } hint ? $"; {hint.Trim()}" : "")}", e);
        }

        using (process)
        {
            if (!interactive)
            {
                process.StandardInput.Close();
            }

            var error = interactive ? null : process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                var said = error?.Result.Trim() is { Length: > 0 } text ? $": {text.Split('\n')[^1]}" : "";
                throw new InvalidOperationException($"exec plugin {Exec.Command} exited with code {process.ExitCode}{said}");
            }

            return Parse(output);
        }
    }

    /// <summary>The ExecCredential the plugin reads from KUBERNETES_EXEC_INFO: the version, whether it may interact, and the cluster when asked for.</summary>
    private string ExecInfo(bool interactive)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("apiVersion", Exec.ApiVersion);
            json.WriteString("kind", "ExecCredential");
            json.WriteStartObject("spec");
            json.WriteBoolean("interactive", interactive);
            if (Exec.ProvideClusterInfo)
            {
                json.WriteStartObject("cluster");
                json.WriteString("server", server.GetLeftPart(UriPartial.Authority));
                if (caPem is not null)
                {
                    json.WriteString("certificate-authority-data", Convert.ToBase64String(Encoding.UTF8.GetBytes(caPem)));
                }

                if (insecureSkipTlsVerify)
                {
                    json.WriteBoolean("insecure-skip-tls-verify", true);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private (string Token, DateTimeOffset? Expires) Parse(string output)
    {
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(output);
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"exec plugin {Exec.Command} printed no ExecCredential: {e.Message}", e);
        }

        var apiVersion = root.TryGetProperty("apiVersion", out var version) ? version.GetString() : null;
        if (apiVersion != Exec.ApiVersion)
        {
            throw new InvalidOperationException(
                $"exec plugin {Exec.Command} is configured to use API version {Exec.ApiVersion}, and answered in {apiVersion ?? "none"}");
        }

        if (!root.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException($"exec plugin {Exec.Command} answered an ExecCredential without a status");
        }

        if (!status.TryGetProperty("token", out var token) || token.GetString() is not { Length: > 0 } text)
        {
            throw new InvalidOperationException(status.TryGetProperty("clientCertificateData", out _)
                ? $"exec plugin {Exec.Command} answered with a client certificate; this client takes tokens from exec plugins, not certificates"
                : $"exec plugin {Exec.Command} answered an ExecCredential without status.token");
        }

        DateTimeOffset? expires = status.TryGetProperty("expirationTimestamp", out var expiry) && expiry.GetString() is { Length: > 0 } when
            ? DateTimeOffset.Parse(when, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : null;
        return (text, expires);
    }
}
