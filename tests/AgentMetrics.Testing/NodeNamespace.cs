using System.Diagnostics;

namespace AgentMetrics.Testing;

/// <summary>
/// The mount namespace a <see cref="LocalNode"/>'s containerd and kubelet run in, held open by one
/// sleeping process. Every mount they make (overlay root filesystems, the sandboxes' /dev/shm and
/// network namespaces, volumes) lives only there and disappears with its last process, so none can
/// be left on the machine. /run, /var/lib and /var/log are the node's own directories in it: the
/// kubelet writes pod logs to /var/log/pods and the CNI library its cache to /var/lib/cni whatever
/// they are told, and the shims put their sockets in /run/containerd.
/// </summary>
public sealed class NodeNamespace : IAsyncDisposable
{
    private const string Setup = """
        set -eu
        dir=$0
        for path in /run /var/lib /var/log; do
          mkdir -p "$dir/host$path"
          mount --bind "$dir/host$path" "$path"
        done
        mkdir -p /run/containerd /var/log/pods /var/log/containers
        # containerd's overlayfs snapshotter needs overlay mounts of its root's filesystem.
        probe=$dir/overlay-probe
        mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
        snapshotter=native
        if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
          umount "$probe/merged"
          snapshotter=overlayfs
        fi
        rm -rf "$probe"
        echo "$snapshotter" >"$dir/snapshotter.partial"
        mv "$dir/snapshotter.partial" "$dir/snapshotter"
        # The directory in its command line lets hack/reap.sh find it.
        exec -a "node-namespace $dir/" sleep infinity
        """;

    private readonly ManagedProcess _holder;

    private NodeNamespace(ManagedProcess holder, string snapshotter)
    {
        _holder = holder;
        Snapshotter = snapshotter;
    }

    /// <summary>The nsenter arguments that run a program in this namespace.</summary>
    public IReadOnlyList<string> Enter => ["--target", _holder.Identity.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--mount", "--"];

    /// <summary>overlayfs when overlay mounts work under the node's directory, else native.</summary>
    public string Snapshotter { get; }

    /// <summary>Creates the namespace for the node in <paramref name="directory"/>.</summary>
    public static async Task<NodeNamespace> StartAsync(string directory)
    {
        var holder = ManagedProcess.Start(
            "node-namespace", Tools.Unshare, ["--mount", "--propagation", "private", "--", "bash", "-c", Setup, directory],
            Path.Combine(directory, "node-namespace.log"));
        var ready = Path.Combine(directory, "snapshotter");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(ready))
        {
            if (holder.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                await holder.DisposeAsync();
                throw new InvalidOperationException($"the node's mount namespace could not be set up:\n{holder.LogTail()}");
            }

            await Task.Delay(50);
        }

        return new NodeNamespace(holder, (await File.ReadAllTextAsync(ready)).Trim());
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _holder.DisposeAsync();
}
