using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Platform.Hosting.Dapr.EtcdImport;

/// <summary>
/// The members of an open cluster's kept directory started again, as plain child processes on 127.0.0.1: on the peer
/// ports kept in its <c>peer-ports</c> file (the members dial those, stored with their data) and free client ports.
/// They serve only the import's reads and are killed when disposed; etcd's write-ahead log makes that safe.
/// </summary>
internal sealed class OpenEtcdMembers : IAsyncDisposable
{
    private readonly List<Member> _members = [];

    private OpenEtcdMembers() { }

    /// <summary>A client port of a member that answered a quorum read.</summary>
    public int ClientPort { get; private set; }

    /// <summary>
    /// Starts every member named in the directory's <c>peer-ports</c> and waits (bounded) for a quorum read; throws with
    /// the members' last output lines when they do not form a cluster in time.
    /// </summary>
    public static async Task<OpenEtcdMembers> StartAsync(string etcdProgram, string openDirectory, string clusterToken, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var peers = EtcdPeerPorts.Load(openDirectory);
        if (peers.Count == 0)
            throw new InvalidOperationException($"{Path.Combine(openDirectory, EtcdPeerPorts.FileName)} is missing or names no member: the members' peer ports are unknown.");
        var initialCluster = string.Join(",", peers.Select(p => $"{p.Key}=http://127.0.0.1:{p.Value.ToString(CultureInfo.InvariantCulture)}"));

        var members = new OpenEtcdMembers();
        try
        {
            foreach (var (name, peerPort) in peers.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var member = new Member(name, EtcdPeerPorts.FreeLoopbackPort());
                members._members.Add(member);
                member.Start(etcdProgram,
                [
                    "--name", name, "--data-dir", Path.Combine(openDirectory, name),
                    "--listen-client-urls", $"http://127.0.0.1:{member.ClientPort}", "--advertise-client-urls", $"http://127.0.0.1:{member.ClientPort}",
                    "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
                    "--initial-cluster", initialCluster, "--initial-cluster-state", "new", "--initial-cluster-token", clusterToken,
                    "--heartbeat-interval", "200", "--election-timeout", "3000",
                    "--logger", "zap", "--log-outputs", "stderr",
                ]);
            }
            members.ClientPort = await members.WaitForQuorumAsync(timeout, cancellationToken);
            return members;
        }
        catch
        {
            await members.DisposeAsync();
            throw;
        }
    }

    private async Task<int> WaitForQuorumAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var giveUp = DateTime.UtcNow + timeout;
        var probe = new RangeRequest { Key = ByteString.CopyFromUtf8("\0"), Limit = 1, CountOnly = true };
        while (true)
        {
            foreach (var member in _members.Where(m => !m.Exited))
            {
                using var channel = EtcdKvChannel.Plain(member.ClientPort);
                try
                {
                    await channel.Kv.RangeAsync(probe, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
                    return member.ClientPort;
                }
                catch (RpcException) when (!cancellationToken.IsCancellationRequested) { }
            }
            if (_members.All(m => m.Exited) || DateTime.UtcNow > giveUp)
                throw new InvalidOperationException(
                    $"the members of the open cluster did not form a cluster within {timeout.TotalSeconds:0} s{(_members.All(m => m.Exited) ? " (all exited)" : "")}. " +
                    "Their last output:\n" + string.Join("\n", _members.SelectMany(m => m.Tail.Select(l => $"  {m.Name}: {l}"))));
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members) await member.StopAsync();
    }

    private sealed class Member(string name, int clientPort)
    {
        private readonly ConcurrentQueue<string> _tail = new();
        private Process? _process;

        public string Name => name;
        public int ClientPort => clientPort;
        public bool Exited => _process is null || _process.HasExited;
        /// <summary>The last lines the member wrote, for an error message.</summary>
        public IEnumerable<string> Tail => _tail;

        public void Start(string program, IEnumerable<string> args)
        {
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in args) start.ArgumentList.Add(arg);
            _process = new Process { StartInfo = start };
            _process.OutputDataReceived += (_, e) => Keep(e.Data);
            _process.ErrorDataReceived += (_, e) => Keep(e.Data);
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        private void Keep(string? line)
        {
            if (line is null) return;
            _tail.Enqueue(line.Length > 300 ? line[..300] : line);
            while (_tail.Count > 5) _tail.TryDequeue(out _);
        }

        public async Task StopAsync()
        {
            if (_process is null) return;
            try
            {
                if (!_process.HasExited) _process.Kill(entireProcessTree: true);
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(bounded.Token);
            }
            catch (Exception e) when (e is InvalidOperationException or OperationCanceledException) { }
            finally
            {
                _process.Dispose();
                _process = null;
            }
        }
    }
}
