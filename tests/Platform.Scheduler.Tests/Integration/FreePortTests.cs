using System.Net;
using System.Net.Sockets;
using TestSupport;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>The suite's free ports: none that an outgoing connection could take first, none handed out twice.</summary>
public sealed class FreePortTests
{
    [Fact]
    public void Ports_are_outside_the_kernels_ephemeral_range_distinct_and_bindable()
    {
        var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
            .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(f => int.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var ports = Enumerable.Range(0, 500).Select(_ => FreePort.Next()).ToList();

        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(ports, p => Assert.True(p < range[0] || p > range[1], $"{p} is in the ephemeral range {range[0]}-{range[1]}"));
        using var listener = new TcpListener(IPAddress.Loopback, ports[^1]);
        listener.Start();
    }

    [Fact]
    public void A_port_in_use_is_not_handed_out()
    {
        var (low, high) = FreePort.Candidates;
        var taken = new List<TcpListener>();
        try
        {
            // Occupy the next 50 candidates after one handed out; none of them may come back.
            var first = FreePort.Next();
            for (var port = first + 1; taken.Count < 50 && port <= high; port++)
            {
                var listener = new TcpListener(IPAddress.Loopback, port);
                try { listener.Start(); taken.Add(listener); }
                catch (SocketException) { listener.Dispose(); }
            }
            var busy = taken.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToHashSet();
            for (var i = 0; i < 60; i++) Assert.DoesNotContain(FreePort.Next(), busy);
            Assert.InRange(first, low, high);
        }
        finally
        {
            foreach (var listener in taken) listener.Dispose();
        }
    }
}
