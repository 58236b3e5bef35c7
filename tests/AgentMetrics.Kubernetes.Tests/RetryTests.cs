using System.Net;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Config;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

/// <summary>
/// Retries of throttling and server errors. A real API server cannot be made to answer 429 or 503
/// on demand, so these tests use a fake one, and say so in their names.
/// </summary>
public sealed class RetryTests
{
    private const string Namespaces = """{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[]}""";

    [Fact]
    public async Task FakeServer_A429IsRetriedAfterTheRetryAfterItAsksFor()
    {
        var calls = new List<DateTime>();
        await using var server = await LoopbackHttpServer.StartAsync(app => app.MapGet("/api/v1/namespaces", (HttpResponse response) =>
        {
            calls.Add(DateTime.UtcNow);
            if (calls.Count == 1)
            {
                response.Headers.RetryAfter = "1";
                return Results.Json(new { kind = "Status", code = 429, reason = "TooManyRequests" }, statusCode: 429);
            }

            return Results.Text(Namespaces, "application/json");
        }));
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = server.Url });

        var list = await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);

        Assert.Equal("7", list.ResourceVersion);
        Assert.Equal(2, calls.Count);
        Assert.True(calls[1] - calls[0] >= TimeSpan.FromMilliseconds(950), $"retried after {(calls[1] - calls[0]).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task FakeServer_A503OnARepeatableRequestIsRetriedButAPostIsNot()
    {
        var gets = 0;
        var posts = 0;
        await using var server = await LoopbackHttpServer.StartAsync(app =>
        {
            app.MapGet("/api/v1/namespaces", () => ++gets < 3
                ? Results.Json(new { kind = "Status", code = 503, reason = "ServiceUnavailable" }, statusCode: 503)
                : Results.Text(Namespaces, "application/json"));
            app.MapPost("/api/v1/namespaces", () =>
            {
                posts++;
                return Results.Json(new { kind = "Status", code = 500, reason = "InternalError", message = "boom" }, statusCode: 500);
            });
        });
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = server.Url })
        {
            Retry = new RetryOptions { BaseDelay = TimeSpan.FromMilliseconds(10) },
        };

        await client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject);
        var error = await Assert.ThrowsAsync<KubernetesApiException>(() => client.CreateAsync(
            ResourceType.Namespaces, null, new KubernetesObject { Metadata = new ObjectMeta { Name = "x" } },
            KubernetesJsonContext.Default.KubernetesObject));

        Assert.Equal(3, gets);
        Assert.Equal(1, posts);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal("boom", error.Status.Message);
    }

    [Fact]
    public async Task FakeServer_ThrottlingThatNeverEndsGivesUpAfterTheConfiguredRetries()
    {
        var calls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(app => app.MapGet("/api/v1/namespaces", () =>
        {
            calls++;
            return Results.Json(new { kind = "Status", code = 429, reason = "TooManyRequests" }, statusCode: 429);
        }));
        using var client = new KubernetesClient(new KubernetesClientConfiguration { Server = server.Url })
        {
            Retry = new RetryOptions { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(5) },
        };

        var error = await Assert.ThrowsAsync<KubernetesApiException>(
            () => client.ListAsync(ResourceType.Namespaces, null, KubernetesJsonContext.Default.KubernetesObject));

        Assert.True(error.IsTooManyRequests);
        Assert.Equal(3, calls);
    }
}
