using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Platform.Hosting.Dapr;

/// <summary>
/// The etcd members' peer ports, chosen free once and kept in <c>&lt;etcd directory&gt;/peer-ports</c> (a line
/// <c>etcd-0 41234</c> per member). An etcd member stores the cluster's peer URLs with its data and dials those after
/// a restart, so a port allocated afresh at each run would leave a restarted cluster without quorum. Deleting the etcd
/// directory forgets both.
/// </summary>
internal static class EtcdPeerPorts
{
    public const string FileName = "peer-ports";

    /// <summary>
    /// The members' kept ports; a member without one gets a free port, none of <paramref name="taken"/> (another
    /// cluster's, running beside this one), and the file is written.
    /// </summary>
    public static Dictionary<string, int> LoadOrAllocate(string etcdDirectory, IReadOnlyList<string> members, IReadOnlySet<int>? taken = null)
    {
        var kept = Load(etcdDirectory);
        if (members.All(kept.ContainsKey)) return members.ToDictionary(m => m, m => kept[m]);

        var ports = members.ToDictionary(m => m, m => kept.TryGetValue(m, out var port) ? port : FreeLoopbackPortBut(taken));
        Directory.CreateDirectory(etcdDirectory);
        File.WriteAllLines(Path.Combine(etcdDirectory, FileName), ports.Select(p => $"{p.Key} {p.Value.ToString(CultureInfo.InvariantCulture)}"));
        return ports;
    }

    /// <summary>The ports kept in the directory, by member; empty without the file.</summary>
    public static Dictionary<string, int> Load(string etcdDirectory)
    {
        var file = Path.Combine(etcdDirectory, FileName);
        return File.Exists(file) ? Parse(File.ReadAllLines(file)) : [];
    }

    private static Dictionary<string, int> Parse(IEnumerable<string> lines)
    {
        var ports = new Dictionary<string, int>();
        foreach (var line in lines)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= IPEndPoint.MaxPort)
                ports[parts[0]] = port;
        }
        return ports;
    }

    private static int FreeLoopbackPortBut(IReadOnlySet<int>? taken)
    {
        while (true)
        {
            var port = FreeLoopbackPort();
            if (taken is null || !taken.Contains(port)) return port;
        }
    }

    internal static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
