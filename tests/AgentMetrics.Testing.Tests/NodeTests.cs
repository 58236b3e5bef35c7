using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace AgentMetrics.Testing.Tests;

/// <summary>Proves the local node is real (the kubelet runs a pod) and that disposing it leaves nothing of it on the machine.</summary>
public sealed class NodeTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ANodeRunsAPodAndDisposingItLeavesNoContainerDeviceOrCgroupBehind()
    {
        var plane = await ControlPlane.SharedAsync();
        var node = await LocalNode.StartAsync(plane);
        var bridge = node.Bridge;
        var cgroups = Directory.GetDirectories("/sys/fs/cgroup").Select(hierarchy => Path.Combine(hierarchy, node.Cgroup)).Where(Directory.Exists).ToList();
        List<int> containers;
        try
        {
            Assert.NotEmpty(cgroups);
            await using var ns = await plane.CreateNamespaceAsync("node");
            var pod = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Pod",
                ["metadata"] = new JsonObject { ["name"] = "agent" },
                ["spec"] = new JsonObject
                {
                    ["nodeName"] = node.Name,
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "agent",
                        ["image"] = NodeImages.ExampleAgent,
                        ["imagePullPolicy"] = "Never",
                        ["env"] = new JsonArray(new JsonObject { ["name"] = "AGENTMETRICS_EVENTS_ENDPOINT", ["value"] = "http://127.0.0.1:4318/v1/events" }),
                    }),
                },
            };
            await plane.Kubectl.RunWithInputAsync(pod.ToJsonString(), "apply", "-n", ns.Name, "-f", "-");
            await plane.Kubectl.RunAsync("wait", "--for=condition=Ready", "pod/agent", "-n", ns.Name, $"--timeout={Patience.TotalSeconds:0}s");
            var logs = "";
            await Eventually.UntilAsync(
                async () => (logs = await plane.Kubectl.RunAsync("logs", "agent", "-n", ns.Name)).Contains("task 1:", StringComparison.Ordinal),
                Patience,
                "the agent's first line through kubectl logs");
            Assert.Contains("not reachable", logs, StringComparison.Ordinal);

            containers = Processes(cgroups);
            Assert.NotEmpty(containers);
        }
        finally
        {
            await node.DisposeAsync();
        }

        Assert.All(containers, pid => Assert.False(File.Exists($"/proc/{pid}/cmdline") && !IsZombie(pid), $"container process {pid} is still running"));
        Assert.All(cgroups, path => Assert.False(Directory.Exists(path), $"{path} is still there"));
        Assert.False(Directory.Exists($"/sys/class/net/{bridge}"), $"the bridge {bridge} is still there");
        Assert.DoesNotContain(
            Directory.GetDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)),
            d => ReadCommandLine(d).Contains(node.Directory + "/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANodeWithAPlaneOfItsOwnAnswersServiceNamesAndStopsThePlaneWithItself()
    {
        var node = await LocalNode.StartInClusterAsync();
        var bridge = node.Bridge;
        var servers = new[] { node.Plane.ApiServer.Process, node.Plane.ControllerManager.Process, node.Plane.Etcd.Process };
        try
        {
            Assert.Equal(node.Address, node.ApiServerUrl.Host);

            // The kubernetes Service's endpoint is the API server at the node's address, where pods reach it.
            using var udp = new UdpClient(node.Address, 53);
            var query = new byte[] { 0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 }
                .Concat("kubernetes.default.svc.cluster.local".Split('.').SelectMany(l => new[] { (byte)l.Length }.Concat(Encoding.ASCII.GetBytes(l))))
                .Concat(new byte[] { 0, 0, 1, 0, 1 })
                .ToArray();
            await udp.SendAsync(query);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var answer = (await udp.ReceiveAsync(timeout.Token)).Buffer;
            Assert.Equal(0, answer[3] & 0x0F);
            Assert.Equal(1, (answer[6] << 8) | answer[7]);
            Assert.Equal(node.Address, new IPAddress(answer.AsSpan(answer.Length - 4)).ToString());
        }
        finally
        {
            await node.DisposeAsync();
        }

        Assert.All(servers, process => Assert.True(process is { HasExited: true }, $"{process?.Name} is still running"));
        Assert.False(Directory.Exists($"/sys/class/net/{bridge}"), $"the bridge {bridge} is still there");
    }

    private static List<int> Processes(IEnumerable<string> cgroups) =>
        [.. cgroups.SelectMany(c => Directory.GetFiles(c, "cgroup.procs", SearchOption.AllDirectories))
            .SelectMany(File.ReadAllLines).Where(line => line.Length > 0).Select(int.Parse).Distinct()];

    private static bool IsZombie(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] == 'Z';
        }
        catch (IOException)
        {
            return true;
        }
    }

    private static string ReadCommandLine(string procDirectory)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procDirectory, "cmdline")).Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
