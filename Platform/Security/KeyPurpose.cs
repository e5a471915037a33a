using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>
/// The extended key usage a peer's certificate must carry for the role it plays in a handshake: a client proves
/// itself with a client-auth certificate, a server with a server-auth one. A certificate without the usage is refused
/// even when it chains to the anchors and names a valid id (an absent EKU extension does not count as "any").
/// </summary>
public enum KeyPurpose
{
    ServerAuth,
    ClientAuth,
}
