using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;

namespace AgentMetrics.Kubernetes.Client;

/// <summary>
/// REST access to any resource kind given its group, version and plural. A refusal surfaces as
/// <see cref="KubernetesApiException"/>; 429, and 5xx on requests safe to repeat, are retried with
/// backoff honouring Retry-After.
/// </summary>
public sealed class KubernetesClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonMedia = new("application/json");
    private readonly HttpClient _http;
    private readonly ITokenProvider? _token;

    /// <summary>Connects as <paramref name="configuration"/> says.</summary>
    public KubernetesClient(KubernetesClientConfiguration configuration)
    {
        Configuration = configuration;
        _token = configuration.Token;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            EnableMultipleHttp2Connections = true,
        };
        if (configuration.ClientCertificate is { } certificate)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        if (configuration.InsecureSkipTlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (configuration.CertificateAuthorities is { Count: > 0 } authorities)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, errors) =>
                CertificateTrust.TrustedBy(authorities, presented, errors);
        }

        // Watches stay open for minutes; every other request gets RequestTimeout of its own.
        _http = new HttpClient(handler) { BaseAddress = configuration.Server, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The configuration this client connects with.</summary>
    public KubernetesClientConfiguration Configuration { get; }

    /// <summary>
    /// The User-Agent of every request, as product/version. Without a <see cref="FieldManager"/>, the API
    /// server names a write's manager in managedFields after the product.
    /// </summary>
    public string UserAgent { get; init; } = $"agent-metrics/{typeof(KubernetesClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}";

    /// <summary>The field manager named on every create, replace and patch (server-side apply names its own).</summary>
    public string? FieldManager { get; init; }

    /// <summary>How long a non-watch request may take, each attempt.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of 429 and 5xx.</summary>
    public RetryOptions Retry { get; init; } = new();

    /// <summary>GET one object.</summary>
    public Task<T> GetAsync<T>(
        ResourceType type, string? @namespace, string name, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        SendForObjectAsync(HttpMethod.Get, type.Path(@namespace, name), null, null, typeInfo, idempotent: true, cancellationToken);

    /// <summary>GET any path of the API server, such as /version.</summary>
    public Task<T> GetPathAsync<T>(string path, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        SendForObjectAsync(HttpMethod.Get, path, null, null, typeInfo, idempotent: true, cancellationToken);

    /// <summary>The API server's major and minor version, from /version ("1" and "29+" become 1.29).</summary>
    public async Task<Version> ServerVersionAsync(CancellationToken cancellationToken = default)
    {
        var info = await GetPathAsync("/version", KubernetesJsonContext.Default.JsonObject, cancellationToken);
        return new Version(LeadingNumber(info["major"]), LeadingNumber(info["minor"]));
    }

    /// <summary>GET one object, or null when it does not exist.</summary>
    public async Task<T?> TryGetAsync<T>(
        ResourceType type, string? @namespace, string name, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
        where T : class
    {
        try
        {
            return await GetAsync(type, @namespace, name, typeInfo, cancellationToken);
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>One page of a list (all of it when no limit is set); a null namespace lists across namespaces.</summary>
    public async Task<ObjectList<T>> ListAsync<T>(
        ResourceType type, string? @namespace, JsonTypeInfo<T> typeInfo, ListOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var query = Query(
            ("labelSelector", options?.LabelSelector),
            ("fieldSelector", options?.FieldSelector),
            ("limit", options?.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("continue", options?.Continue),
            ("resourceVersion", options?.ResourceVersion));
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, type.Path(@namespace) + query), idempotent: true,
            HttpCompletionOption.ResponseContentRead, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
        var root = document.RootElement;
        var items = new List<T>();
        if (root.TryGetProperty("items", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in array.EnumerateArray())
            {
                items.Add(item.Deserialize(typeInfo)!);
            }
        }

        var meta = root.TryGetProperty("metadata", out var m) ? m.Deserialize(KubernetesJsonContext.Default.ListMeta) : null;
        return new ObjectList<T>(items, meta?.ResourceVersion, string.IsNullOrEmpty(meta?.Continue) ? null : meta.Continue);
    }

    /// <summary>Every object, fetched page by page; the list's resourceVersion is that of the first page.</summary>
    public async Task<ObjectList<T>> ListAllAsync<T>(
        ResourceType type, string? @namespace, JsonTypeInfo<T> typeInfo, ListOptions? options = null, int pageSize = 500,
        CancellationToken cancellationToken = default)
    {
        var all = new List<T>();
        var page = await ListAsync(type, @namespace, typeInfo, (options ?? new ListOptions()) with { Limit = pageSize }, cancellationToken);
        var version = page.ResourceVersion;
        all.AddRange(page.Items);
        while (page.Continue is { } next)
        {
            page = await ListAsync(type, @namespace, typeInfo, (options ?? new ListOptions()) with { Limit = pageSize, Continue = next }, cancellationToken);
            all.AddRange(page.Items);
        }

        return new ObjectList<T>(all, version, null);
    }

    /// <summary>POST a new object; with <paramref name="dryRun"/> the server admits and returns it without storing it.</summary>
    public Task<T> CreateAsync<T>(
        ResourceType type, string? @namespace, T obj, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default,
        bool dryRun = false) =>
        SendForObjectAsync(
            HttpMethod.Post, type.Path(@namespace), Json(obj, typeInfo), Query(("fieldManager", FieldManager), ("dryRun", dryRun ? "All" : null)),
            typeInfo, idempotent: false, cancellationToken);

    /// <summary>PUT an object (or its subresource); the server refuses it with 409 if its resourceVersion is stale.</summary>
    public Task<T> ReplaceAsync<T>(
        ResourceType type, string? @namespace, string name, T obj, JsonTypeInfo<T> typeInfo, string? subresource = null,
        CancellationToken cancellationToken = default) =>
        SendForObjectAsync(
            HttpMethod.Put, type.Path(@namespace, name, subresource), Json(obj, typeInfo), Query(("fieldManager", FieldManager)), typeInfo,
            idempotent: true, cancellationToken);

    /// <summary>PATCH an object (or its subresource) with a JSON merge patch or a JSON patch.</summary>
    public Task<T> PatchAsync<T>(
        ResourceType type, string? @namespace, string name, PatchKind kind, string patch, JsonTypeInfo<T> typeInfo,
        string? subresource = null, CancellationToken cancellationToken = default)
    {
        var media = kind == PatchKind.Merge ? "application/merge-patch+json" : "application/json-patch+json";
        return SendForObjectAsync(
            HttpMethod.Patch, type.Path(@namespace, name, subresource), Content(patch, media), Query(("fieldManager", FieldManager)), typeInfo,
            idempotent: false, cancellationToken);
    }

    /// <summary>
    /// Server-side apply: the fields in <paramref name="obj"/> become owned by <paramref name="fieldManager"/>;
    /// with <paramref name="force"/>, conflicts with other managers are taken over.
    /// </summary>
    public Task<T> ApplyAsync<T>(
        ResourceType type, string? @namespace, string name, T obj, JsonTypeInfo<T> typeInfo, string fieldManager,
        bool force = true, string? subresource = null, CancellationToken cancellationToken = default)
    {
        var query = Query(("fieldManager", fieldManager), ("force", force ? "true" : null));
        return SendForObjectAsync(
            HttpMethod.Patch, type.Path(@namespace, name, subresource), Content(JsonSerializer.Serialize(obj, typeInfo), "application/apply-patch+yaml"),
            query, typeInfo, idempotent: true, cancellationToken);
    }

    /// <summary>DELETE an object; NotFound surfaces as an exception, like every refusal.</summary>
    public async Task DeleteAsync(
        ResourceType type, string? @namespace, string name, PropagationPolicy? propagation = null,
        string? preconditionUid = null, CancellationToken cancellationToken = default)
    {
        var body = new MemoryStream();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteString("apiVersion", "v1");
            writer.WriteString("kind", "DeleteOptions");
            if (propagation is { } policy)
            {
                writer.WriteString("propagationPolicy", policy.ToString());
            }

            if (preconditionUid is not null)
            {
                writer.WriteStartObject("preconditions");
                writer.WriteString("uid", preconditionUid);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Delete, type.Path(@namespace, name)) { Content = Content(Encoding.UTF8.GetString(body.ToArray()), "application/json") },
            idempotent: true, HttpCompletionOption.ResponseContentRead, cancellationToken);
    }

    /// <summary>
    /// Watches a kind from a resourceVersion. The stream ends when the server closes it; a 410 Gone,
    /// as a response or as an ERROR event inside the stream, throws <see cref="KubernetesApiException"/>.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(
        ResourceType type, string? @namespace, JsonTypeInfo<T> typeInfo, WatchOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = Query(
            ("watch", "true"),
            ("resourceVersion", options.ResourceVersion),
            ("allowWatchBookmarks", options.AllowBookmarks ? "true" : null),
            ("labelSelector", options.LabelSelector),
            ("fieldSelector", options.FieldSelector),
            ("timeoutSeconds", options.TimeoutSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var response = await SendAsync(
            () => new HttpRequestMessage(HttpMethod.Get, type.Path(@namespace) + query), idempotent: true,
            HttpCompletionOption.ResponseHeadersRead, cancellationToken, timeout: false);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            yield return ParseWatchLine(line, typeInfo);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static int LeadingNumber(JsonNode? node)
    {
        var text = node?.GetValue<string>() ?? "";
        var end = 0;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        return end == 0 ? 0 : int.Parse(text.AsSpan(0, end), System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static WatchEvent<T> ParseWatchLine<T>(string line, JsonTypeInfo<T> typeInfo)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var kind = root.GetProperty("type").GetString();
        var payload = root.GetProperty("object");
        return kind switch
        {
            "ADDED" => new WatchEvent<T>(WatchEventType.Added, payload.Deserialize(typeInfo)!),
            "MODIFIED" => new WatchEvent<T>(WatchEventType.Modified, payload.Deserialize(typeInfo)!),
            "DELETED" => new WatchEvent<T>(WatchEventType.Deleted, payload.Deserialize(typeInfo)!),
            "BOOKMARK" => new WatchEvent<T>(WatchEventType.Bookmark, payload.Deserialize(typeInfo)!),
            "ERROR" => throw new KubernetesApiException(
                payload.Deserialize(KubernetesJsonContext.Default.Status) ?? new Status { Code = 500, Message = line }),
            _ => throw new FormatException($"unknown watch event type {kind}"),
        };
    }

    private async Task<T> SendForObjectAsync<T>(
        HttpMethod method, string path, HttpContent? content, string? query, JsonTypeInfo<T> typeInfo, bool idempotent,
        CancellationToken cancellationToken)
    {
        var payload = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken);
        var media = content?.Headers.ContentType;
        content?.Dispose();
        using var response = await SendAsync(
            () =>
            {
                var request = new HttpRequestMessage(method, path + query);
                if (payload is not null)
                {
                    request.Content = new ByteArrayContent(payload);
                    request.Content.Headers.ContentType = media;
                }

                return request;
            },
            idempotent, HttpCompletionOption.ResponseContentRead, cancellationToken);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return (await JsonSerializer.DeserializeAsync(body, typeInfo, cancellationToken))!;
    }

    private async Task<HttpResponseMessage> SendAsync(
        Func<HttpRequestMessage> build, bool idempotent, HttpCompletionOption completion, CancellationToken cancellationToken,
        bool timeout = true)
    {
        var refused = false;
        for (var attempt = 0; ; attempt++)
        {
            using var request = build();
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.UserAgent.ParseAdd(UserAgent);
            var token = _token?.GetToken();
            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (timeout)
            {
                deadline.CancelAfter(RequestTimeout);
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, completion, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{request.Method} {request.RequestUri} took longer than {RequestTimeout}");
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            // A credential plugin's token can be revoked or end before its stated expiry: on a 401 the
            // provider is asked once for another, and the request is sent again if it gives a new one.
            if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized && token is not null && !refused)
            {
                refused = true;
                _token!.Refused(token);
                if (_token.GetToken() != token)
                {
                    response.Dispose();
                    continue;
                }
            }

            var retryAfter = response.Headers.RetryAfter?.Delta;
            var code = (int)response.StatusCode;
            var retriable = code == 429 || (code >= 500 && (idempotent || retryAfter is not null));
            if (retriable && attempt < Retry.MaxRetries)
            {
                response.Dispose();
                await Task.Delay(RetryDelay(attempt, retryAfter), cancellationToken);
                continue;
            }

            using (response)
            {
                throw await ToExceptionAsync(response, cancellationToken);
            }
        }
    }

    private TimeSpan RetryDelay(int attempt, TimeSpan? retryAfter)
    {
        if (retryAfter is { } asked)
        {
            return asked < Retry.MaxDelay ? asked : Retry.MaxDelay;
        }

        var exponential = Retry.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt);
        var capped = Math.Min(exponential, Retry.MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    private static async Task<KubernetesApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        Status? status = null;
        try
        {
            status = JsonSerializer.Deserialize(text, KubernetesJsonContext.Default.Status);
        }
        catch (JsonException)
        {
            // Not a Status body (a proxy's error page, say): keep the text as the message.
        }

        status ??= new Status();
        if (status.Code == 0)
        {
            status.Code = (int)response.StatusCode;
        }

        status.Reason ??= response.StatusCode.ToString();
        status.Message ??= text.Length > 0 ? text : response.ReasonPhrase;
        return new KubernetesApiException(status);
    }

    private static StringContent Content(string body, string mediaType) =>
        new(body, Encoding.UTF8, new MediaTypeHeaderValue(mediaType));

    private static StringContent Json<T>(T obj, JsonTypeInfo<T> typeInfo) =>
        new(JsonSerializer.Serialize(obj, typeInfo), Encoding.UTF8, JsonMedia);

    private static string Query(params (string Key, string? Value)[] parameters)
    {
        var present = parameters.Where(p => p.Value is not null).Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? "" : "?" + string.Join('&', present);
    }
}
