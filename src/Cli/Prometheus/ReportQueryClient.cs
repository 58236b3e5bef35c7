using System.Globalization;
using System.Text.Json;

namespace AgentMetrics.Cli.Prometheus;

/// <summary>One sample of an instant query's vector: its labels and its value (null when Prometheus answers NaN).</summary>
public sealed record VectorSample(IReadOnlyDictionary<string, string> Labels, double? Value)
{
    /// <summary>The value of <paramref name="name"/>, or "" when the sample has no such label.</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";
}

/// <summary>Prometheus could not be reached, or answered a query with an error; the message says which and why.</summary>
public sealed class PrometheusQueryException(string message) : Exception(message);

/// <summary>
/// Instant queries through the Prometheus HTTP API (<c>/api/v1/query</c>), at a given time. The answer is read
/// with JsonDocument, so the trimmed plugin needs no reflection.
/// </summary>
public sealed class ReportQueryClient(Uri prometheus, HttpClient http)
{
    /// <summary>Runs <paramref name="promql"/> at <paramref name="at"/> and returns the vector it answers.</summary>
    public async Task<IReadOnlyList<VectorSample>> QueryAsync(string promql, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var time = (at.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        var url = new Uri($"{prometheus.AbsoluteUri.TrimEnd('/')}/api/v1/query?query={Uri.EscapeDataString(promql)}&time={time}");
        HttpResponseMessage response;
        string body;
        try
        {
            response = await http.GetAsync(url, cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new PrometheusQueryException($"cannot reach Prometheus at {prometheus}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PrometheusQueryException($"Prometheus at {prometheus} did not answer within {http.Timeout.TotalSeconds:0} s");
        }

        using (response)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body);
            }
            catch (JsonException)
            {
                throw new PrometheusQueryException(
                    $"{prometheus} answered HTTP {(int)response.StatusCode} with something other than the Prometheus query API's JSON; is --prometheus the server's base URL?");
            }

            using (document)
            {
                var root = document.RootElement;
                if (!root.TryGetProperty("status", out var status) || status.GetString() != "success")
                {
                    var reason = root.TryGetProperty("error", out var error) ? error.GetString() : $"HTTP {(int)response.StatusCode}";
                    throw new PrometheusQueryException($"Prometheus at {prometheus} refused the query `{promql}`: {reason}");
                }

                var data = root.GetProperty("data");
                if (data.GetProperty("resultType").GetString() != "vector")
                {
                    throw new PrometheusQueryException($"Prometheus at {prometheus} answered `{promql}` with a {data.GetProperty("resultType").GetString()}, not a vector");
                }

                return [.. data.GetProperty("result").EnumerateArray().Select(Sample)];
            }
        }
    }

    private static VectorSample Sample(JsonElement element)
    {
        var labels = element.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
        var text = element.GetProperty("value")[1].GetString();
        double? value = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && double.IsFinite(parsed) ? parsed : null;
        return new VectorSample(labels, value);
    }
}
