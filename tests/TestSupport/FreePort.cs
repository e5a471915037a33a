using System.Net;
using System.Net.Sockets;

namespace TestSupport;

/// <summary>
/// Loopback ports for the processes and stubs a test starts. A port the kernel picks (bind to port 0) comes from its
/// ephemeral range, the same range every outgoing connection's source port comes from, so under load one of the
/// suite's own connections could take it between the test asking and its process binding. These come from outside
/// that range, where the kernel hands out nothing, each once per test host, and are checked free. The test projects
/// run side by side, so each port is also claimed for the life of its test host with a lock file that other hosts
/// respect: two hosts can never hand one port to two processes between the check and the bind.
/// </summary>
public static class FreePort
{
    private const int Floor = 10000;
    private static readonly (int Low, int High) Range = RangeOutsideEphemeral();
    // A random start, so that a test host run right after another does not walk the same ports first.
    private static int _next = Random.Shared.Next(Range.High - Range.Low + 1);

    /// <summary>The ports <see cref="Next"/> chooses from.</summary>
    public static (int Low, int High) Candidates => Range;

    public static int Next()
    {
        var span = Range.High - Range.Low + 1;
        for (var tried = 0; tried < span; tried++)
        {
            var port = Range.Low + (int)((uint)Interlocked.Increment(ref _next) % (uint)span);
            if (PortClaims.TryClaim(port) && IsFree(port)) return port;
        }
        throw new InvalidOperationException($"no free loopback port in {Range.Low}-{Range.High}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Below the kernel's ephemeral range (Linux's default is 32768-60999), or above it where it starts too low to
    /// leave room beneath.
    /// </summary>
    private static (int, int) RangeOutsideEphemeral()
    {
        var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
            .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(f => int.Parse(f, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var (ephemeralLow, ephemeralHigh) = (fields[0], fields[1]);
        if (ephemeralLow - Floor >= 1000) return (Floor, ephemeralLow - 1);
        if (65535 - ephemeralHigh >= 1000) return (ephemeralHigh + 1, 65535);
        throw new InvalidOperationException(
            $"the kernel's ephemeral port range {ephemeralLow}-{ephemeralHigh} leaves no room for the tests' own ports");
    }
}
