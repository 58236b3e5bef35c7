using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace AgentMetrics.Testing;

/// <summary>
/// Plays the Prometheus Operator for a plain Prometheus: the rule files the operator renders into
/// ConfigMaps (label agentmetrics.io/rules) become files of Prometheus's rule directory, and a backfill
/// gives the recorded series a week of history for the week-over-week panels.
/// </summary>
public static class PrometheusRules
{
    /// <summary>
    /// A Prometheus configuration as a cluster's would be: the rule files of <paramref name="rules"/>, alerts to
    /// <paramref name="alertmanager"/>, container metrics scraped from the kubelet's /metrics/cadvisor at
    /// <paramref name="kubelet"/> over HTTPS (its certificate checked against <paramref name="kubeletCaFile"/>),
    /// all every <paramref name="interval"/>.
    /// </summary>
    public static string Config(string rules, Uri alertmanager, Uri kubelet, string kubeletCaFile, string interval) => $$"""
        global: {scrape_interval: {{interval}}, evaluation_interval: {{interval}}}
        rule_files: ["{{rules}}/*.yaml"]
        alerting:
          alertmanagers:
          - static_configs: [{targets: ["{{alertmanager.Authority}}"]}]
        scrape_configs:
        - job_name: kubelet-cadvisor
          scheme: https
          tls_config: {ca_file: "{{kubeletCaFile}}"}
          metrics_path: /metrics/cadvisor
          honor_labels: true
          static_configs: [{targets: ["{{kubelet.Authority}}"]}]

        """;

    /// <summary>
    /// Writes every rendered rule file into <paramref name="directory"/> and reloads Prometheus when one
    /// changed; with <paramref name="interval"/>, rule groups are evaluated that often instead of as rendered.
    /// </summary>
    public static async Task<bool> SyncAsync(ControlPlane plane, PrometheusServer prometheus, string config, string directory, string? interval = null)
    {
        var list = JsonNode.Parse(await plane.Kubectl.RunAsync("get", "configmaps", "-A", "-l", "agentmetrics.io/rules=true", "-o", "json"))!;
        var wanted = new HashSet<string>();
        var changed = false;
        foreach (var configMap in list["items"]!.AsArray())
        {
            foreach (var (file, content) in configMap!["data"]!.AsObject())
            {
                var text = (string)content!;
                if (interval is not null)
                {
                    text = text.Replace("  interval: \"30s\"", $"  interval: \"{interval}\"", StringComparison.Ordinal);
                }

                var path = Path.Combine(directory, file);
                wanted.Add(path);
                if (!File.Exists(path) || await File.ReadAllTextAsync(path) != text)
                {
                    await File.WriteAllTextAsync(path, text);
                    changed = true;
                }
            }
        }

        foreach (var stale in Directory.GetFiles(directory).Where(f => !wanted.Contains(f)))
        {
            File.Delete(stale);
            changed = true;
        }

        if (changed)
        {
            await prometheus.ReloadAsync(config);
        }

        return changed;
    }

    /// <summary>Syncs every few seconds until cancelled.</summary>
    public static async Task FollowAsync(ControlPlane plane, PrometheusServer prometheus, string config, string directory, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await SyncAsync(plane, prometheus, config, directory);
                await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine($"rule sync: {e.Message}");
            }
        }
    }

    /// <summary>
    /// An hour of the namespace-level recorded series a week ago, in OpenMetrics for
    /// <see cref="PrometheusServer.StartWithHistoryAsync"/>: last week, as the history panels compare with.
    /// </summary>
    public static string LastWeek(string @namespace)
    {
        var text = new StringBuilder();
        var then = DateTimeOffset.UtcNow.AddDays(-7);
        foreach (var (series, value) in new[]
        {
            ("namespace:agent_task_duration_seconds:p99_5m", 1.9),
            ("namespace:agent_tasks:completion_ratio_5m", 0.9),
            ("namespace:agent_tasks:rate_5m", 4.0),
        })
        {
            text.Append(CultureInfo.InvariantCulture, $"# TYPE {series} gauge\n");
            for (var t = then.AddMinutes(-30); t <= then.AddMinutes(30); t = t.AddSeconds(30))
            {
                text.Append(CultureInfo.InvariantCulture, $"{series}{{namespace=\"{@namespace}\"}} {value} {t.ToUnixTimeSeconds()}\n");
            }
        }

        return text.Append("# EOF\n").ToString();
    }
}
