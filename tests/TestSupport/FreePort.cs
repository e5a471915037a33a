using System.Net;
using System.Net.Sockets;

namespace TestSupport;

public static class FreePort
{
    // Asks the OS for an unused loopback port. The port is released before it is returned, so a caller
    // that cannot bind it should ask again; in practice the kernel does not hand it out twice in a row.
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
