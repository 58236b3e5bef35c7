using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Kubernetes.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace AgentMetrics.Testing;

/// <summary>
/// Plays the kubelet for pods the API server stored: starts the injected sidecar as a local process
/// from the pod's own container spec (its args, and its env with the downward API resolved), mounts the
/// projected service-account token (a real token bound to the pod), marks the pod Running, and serves
/// /metrics/cadvisor with the real CPU and memory of the processes it runs. One loopback stands for
/// every pod's network, so each sidecar's two ports are moved to free ones, as separate pod IPs would.
/// </summary>
public sealed class KubeletStandIn : IAsyncDisposable
{
    /// <summary>The injected container the stand-in runs.</summary>
    public const string SidecarContainer = "agent-metrics-sidecar";

    private readonly ControlPlane _plane;
    private readonly LoopbackHttpServer _cadvisor;
    private readonly ConcurrentDictionary<string, (string Namespace, SidecarProcess Sidecar)> _running = new();

    private KubeletStandIn(ControlPlane plane, LoopbackHttpServer cadvisor)
    {
        _plane = plane;
        _cadvisor = cadvisor;
    }

    /// <summary>Where Prometheus scrapes the container metrics, as it scrapes a kubelet's /metrics/cadvisor.</summary>
    public Uri CadvisorTarget => _cadvisor.Url;

    /// <summary>The sidecars running now, by pod name.</summary>
    public IReadOnlyDictionary<string, SidecarProcess> Running => _running.ToDictionary(p => p.Key, p => p.Value.Sidecar);

    /// <summary>Starts the stand-in's cAdvisor endpoint; nothing runs until asked.</summary>
    public static async Task<KubeletStandIn> StartAsync(ControlPlane plane)
    {
        KubeletStandIn? kubelet = null;
        var server = await LoopbackHttpServer.StartAsync(app => app.MapGet("/metrics/cadvisor", () => Results.Text(kubelet!.Cadvisor(), "text/plain; version=0.0.4")));
        kubelet = new KubeletStandIn(plane, server);
        return kubelet;
    }

    /// <summary>Runs the sidecar of <paramref name="pod"/> as stored, and marks the pod Running.</summary>
    public async Task<SidecarProcess> RunAsync(KubernetesObject pod)
    {
        var spec = pod.Body["spec"]!;
        var container = new[] { "initContainers", "containers" }
            .SelectMany(field => spec[field] as JsonArray ?? [])
            .Single(c => (string?)c!["name"] == SidecarContainer)!;
        var @namespace = pod.Metadata.Namespace!;
        var name = pod.Metadata.Name!;

        var environment = new Dictionary<string, string>();
        foreach (var variable in container["env"]!.AsArray())
        {
            // The API server leaves an empty value out.
            environment[(string)variable!["name"]!] = variable["valueFrom"]?["fieldRef"]?["fieldPath"] is { } path
                ? Resolve((string)path!, pod)
                : (string?)variable["value"] ?? "";
        }

        var directory = ProcessRegistry.Current.CreateDirectory("pod-volumes");
        var account = (string?)spec["serviceAccountName"] ?? "default";
        var token = (await _plane.Kubectl.RunAsync(
            "create", "token", account, "-n", @namespace, "--duration=1h",
            "--bound-object-kind=Pod", $"--bound-object-name={name}", $"--bound-object-uid={pod.Metadata.Uid}")).Trim();
        var tokenFile = Path.Combine(directory, "token");
        await File.WriteAllTextAsync(tokenFile, token);

        var arguments = new List<string>();
        foreach (var argument in container["args"]!.AsArray().Select(a => (string)a!))
        {
            if (argument.StartsWith("--ingest-listen=", StringComparison.Ordinal) || argument.StartsWith("--metrics-listen=", StringComparison.Ordinal))
            {
                continue;
            }

            arguments.Add(argument.StartsWith("--token-file=", StringComparison.Ordinal) ? $"--token-file={tokenFile}" : argument);
        }

        var sidecar = await SidecarProcess.StartAsync(name, environment, [.. arguments]);
        _running[name] = (@namespace, sidecar);
        await _plane.MarkPodRunningAsync(@namespace, name);
        return sidecar;
    }

    /// <summary>Stops every sidecar it runs, then its cAdvisor endpoint.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var (_, (_, sidecar)) in _running)
        {
            await sidecar.DisposeAsync();
        }

        await _cadvisor.DisposeAsync();
    }

    private static string Resolve(string fieldPath, KubernetesObject pod)
    {
        const string Label = "metadata.labels['";
        return fieldPath switch
        {
            "metadata.namespace" => pod.Metadata.Namespace!,
            "metadata.name" => pod.Metadata.Name!,
            _ when fieldPath.StartsWith(Label, StringComparison.Ordinal) && fieldPath.EndsWith("']", StringComparison.Ordinal) =>
                pod.Metadata.Labels?.GetValueOrDefault(fieldPath[Label.Length..^2]) ?? "",
            _ => throw new NotSupportedException($"the kubelet stand-in does not resolve fieldRef {fieldPath}"),
        };
    }

    /// <summary>cAdvisor's two container series Prometheus usually has, for the processes running now.</summary>
    private string Cadvisor()
    {
        var text = new StringBuilder();
        text.Append("# TYPE container_cpu_usage_seconds_total counter\n");
        foreach (var (pod, (@namespace, sidecar)) in _running)
        {
            if (sidecar.Process is { HasExited: false } process && CpuSeconds(process.Identity.Pid) is { } cpu)
            {
                text.Append(CultureInfo.InvariantCulture, $"container_cpu_usage_seconds_total{{namespace=\"{@namespace}\",pod=\"{pod}\",container=\"{SidecarContainer}\"}} {cpu}\n");
            }
        }

        text.Append("# TYPE container_memory_working_set_bytes gauge\n");
        foreach (var (pod, (@namespace, sidecar)) in _running)
        {
            if (sidecar.Process is { HasExited: false })
            {
                try
                {
                    text.Append(CultureInfo.InvariantCulture, $"container_memory_working_set_bytes{{namespace=\"{@namespace}\",pod=\"{pod}\",container=\"{SidecarContainer}\"}} {sidecar.ResidentBytes()}\n");
                }
                catch (IOException)
                {
                }
            }
        }

        return text.ToString();
    }

    private static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
