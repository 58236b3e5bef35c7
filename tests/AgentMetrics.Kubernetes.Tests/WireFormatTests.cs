using System.Text.Json;
using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using Xunit;

namespace AgentMetrics.Kubernetes.Tests;

public sealed class WireFormatTests
{
    [Fact]
    public void AnErrorEventInsideAWatchStreamSurfacesAsGone()
    {
        const string line = """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 5 (120)","reason":"Expired","code":410}}""";

        var error = Assert.Throws<KubernetesApiException>(
            () => KubernetesClient.ParseWatchLine(line, KubernetesJsonContext.Default.KubernetesObject));

        Assert.True(error.IsGone);
        Assert.Equal("Expired", error.Status.Reason);
        Assert.Equal("Failure", error.Status.Outcome);
    }

    [Fact]
    public void ABookmarkCarriesOnlyTheResourceVersion()
    {
        const string line = """{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"12345"}}}""";

        var bookmark = KubernetesClient.ParseWatchLine(line, KubernetesJsonContext.Default.KubernetesObject);

        Assert.Equal(WatchEventType.Bookmark, bookmark.Type);
        Assert.Equal("12345", bookmark.Object.Metadata.ResourceVersion);
    }

    [Fact]
    public void MicroTimeIsWrittenWithExactlySixFractionalDigitsInUtc()
    {
        var spec = new LeaseSpec { RenewTime = new DateTimeOffset(2026, 11, 21, 20, 30, 1, 123, TimeSpan.FromHours(2)).AddTicks(4567) };

        var json = JsonSerializer.Serialize(new Lease { Spec = spec }, KubernetesJsonContext.Default.Lease);

        Assert.Contains("\"renewTime\":\"2026-11-21T18:30:01.123456Z\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void FieldsTheModelDoesNotKnowSurviveARoundTrip()
    {
        const string pod = """{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","managedFields":[{"manager":"kubectl"}],"futureField":{"x":1}},"spec":{"containers":[{"name":"c","image":"i"}],"tolerations":[{"key":"k"}]},"status":{"phase":"Pending"}}""";

        var parsed = JsonSerializer.Deserialize(pod, KubernetesJsonContext.Default.KubernetesObject)!;
        var written = JsonSerializer.Serialize(parsed, KubernetesJsonContext.Default.KubernetesObject);

        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(pod).RootElement, JsonDocument.Parse(written).RootElement), written);
    }

    [Theory]
    [InlineData("", "v1", "pods", true, "ns", null, null, "/api/v1/namespaces/ns/pods")]
    [InlineData("", "v1", "pods", true, null, null, null, "/api/v1/pods")]
    [InlineData("", "v1", "pods", true, "ns", "p", "status", "/api/v1/namespaces/ns/pods/p/status")]
    [InlineData("", "v1", "namespaces", false, null, "kube-system", null, "/api/v1/namespaces/kube-system")]
    [InlineData("agentmetrics.io", "v1alpha1", "alertthresholds", true, "team a", "x", null, "/apis/agentmetrics.io/v1alpha1/namespaces/team%20a/alertthresholds/x")]
    public void ResourcePathsFollowTheApiLayout(
        string group, string version, string plural, bool namespaced, string? ns, string? name, string? sub, string expected)
    {
        var type = new ResourceType(group, version, plural, "K", namespaced);

        Assert.Equal(expected, type.Path(ns, name, sub));
    }
}
