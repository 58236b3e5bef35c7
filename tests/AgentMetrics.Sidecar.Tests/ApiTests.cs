using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using AgentMetrics.Testing;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

/// <summary>The sidecar's HTTP API as a client sees it: status codes, JSON error bodies, the body cap, encodings.</summary>
public class ApiTests
{
    [Fact]
    public async Task The_api_refuses_bad_requests_with_a_json_body_and_takes_gzip_and_otlp_json()
    {
        await using var sidecar = await SidecarProcess.StartAsync("api-0", null, "--max-body-bytes=65536", "--series-limit=2");

        using var tooLarge = await sidecar.PostAsync("/v1/events", new byte[70_000], "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("65536-byte cap", await ErrorOf(tooLarge), StringComparison.Ordinal);

        using var wrongType = await sidecar.PostAsync("/v1/metrics", "{}"u8.ToArray(), "text/plain");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        Assert.Contains("application/x-protobuf or application/json", await ErrorOf(wrongType), StringComparison.Ordinal);

        using var badOtlp = await sidecar.PostAsync("/v1/metrics", [0x0A, 0x7F], "application/x-protobuf");
        Assert.Equal(HttpStatusCode.BadRequest, badOtlp.StatusCode);
        Assert.Contains("not a valid OTLP protobuf request", await ErrorOf(badOtlp), StringComparison.Ordinal);

        var json = """{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"jobs","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[{"asInt":"4","attributes":[{"key":"k","value":{"stringValue":"a"}}]},{"asInt":"1","attributes":[{"key":"k","value":{"stringValue":"b"}}]},{"asInt":"1","attributes":[{"key":"k","value":{"stringValue":"c"}}]}]}}]}]}]}""";
        using var gzipped = new ByteArrayContent(Gzip(json));
        gzipped.Headers.ContentType = new("application/json");
        gzipped.Headers.ContentEncoding.Add("gzip");
        using var http = new HttpClient();
        using var accepted = await http.PostAsync(new Uri(sidecar.Ingest, "/v1/metrics"), gzipped);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);

        // The third series is over --series-limit=2: OTLP's partial success says so.
        using var answer = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        Assert.Equal("1", answer.RootElement.GetProperty("partialSuccess").GetProperty("rejectedDataPoints").GetString());
        Assert.Equal(4, await sidecar.ValueAsync("jobs_total{namespace=\"demo\",pod=\"api-0\",agent=\"support-agent\",agent_version=\"1.4.2\",k=\"a\"}"));
        Assert.Equal(1, await sidecar.ValueAsync("agent_metrics_sidecar_rejected_requests_total{namespace=\"demo\",pod=\"api-0\",agent=\"support-agent\",agent_version=\"1.4.2\",endpoint=\"events\",code=\"413\"}"));
    }

    [Theory]
    [InlineData("--ingest-listen=http://0.0.0.0:4318", "--ingest-listen must be an http address on a loopback IP")]
    [InlineData("--grpc-listen=http://0.0.0.0:4317", "--grpc-listen must be an http address on a loopback IP")]
    [InlineData("--grpc-listen=http://127.0.0.1:4318", "--grpc-listen must use a port of its own")]
    [InlineData("--operator-ca=not a certificate", "--operator-ca must hold at least one PEM certificate")]
    [InlineData("--metrics-compression=br", "--metrics-compression must be gzip or none")]
    public async Task Bad_settings_exit_with_code_2_naming_the_setting(string setting, string expected)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "agent-metrics-sidecar.dll");
        var info = new System.Diagnostics.ProcessStartInfo("dotnet", [dll, setting]) { RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/events", "br")]
    [InlineData("/v1/metrics", "deflate")]
    [InlineData("/v1/traces", "zstd")]
    public async Task A_content_encoding_other_than_gzip_or_identity_gets_415_and_nothing_is_recorded(string path, string encoding)
    {
        await using var sidecar = await SidecarProcess.StartAsync("encoding-0");
        var body = path == "/v1/events"
            ? """{"type":"escalation","reason":"policy"}"""
            : path == "/v1/metrics" ? """{"resourceMetrics":[]}""" : """{"resourceSpans":[]}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        content.Headers.ContentEncoding.Add(encoding);
        using var http = new HttpClient();

        using var response = await http.PostAsync(new Uri(sidecar.Ingest, path), content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal($"Content-Encoding must be gzip or identity, got \"{encoding}\"", await ErrorOf(response));
        Assert.Null(await sidecar.ValueAsync("agent_escalations_total{"));
    }

    [Fact]
    public async Task An_error_quotes_a_bounded_prefix_of_a_long_field_name_and_still_names_the_field()
    {
        await using var sidecar = await SidecarProcess.StartAsync("clip-0");
        var name = "x" + new string('y', 10_000);

        using var response = await sidecar.PostEventsAsync("{\"type\":\"escalation\",\"reason\":\"policy\",\"" + name + "\":1,\"attributes\":{\"" + name + "\":{}}}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Length < 1000, $"the answer is {text.Length} characters long");
        using var json = JsonDocument.Parse(text);
        var fields = json.RootElement.GetProperty("details").EnumerateArray().Select(d => d.GetProperty("field").GetString()).ToList();
        Assert.Equal([name[..64] + "…", "attributes." + name[..64] + "…"], fields);
    }

    private static async Task<string> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").GetString()!;
    }

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }
}
