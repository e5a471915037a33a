using System.Net.Sockets;

namespace TestSupport;

/// <summary>
/// Ports claimed by this test host, across every test host on the machine: a claim is a Unix socket bound to a name
/// in Linux's abstract namespace, which only one process can hold, which the kernel releases when the host exits (also
/// after a kill) and which leaves no file behind.
/// </summary>
internal static class PortClaims
{
    private static readonly List<Socket> Held = [];

    public static bool TryClaim(int port)
    {
        var claim = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            claim.Bind(new UnixDomainSocketEndPoint($"\0aspire-dapr-tests/port/{port}"));
        }
        catch (SocketException)
        {
            claim.Dispose();
            return false; // another test host holds it
        }
        lock (Held) Held.Add(claim);
        return true;
    }
}
