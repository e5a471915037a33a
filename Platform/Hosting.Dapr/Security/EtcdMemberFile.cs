using Platform.Security;
using Platform.Security.Renewal;

namespace Platform.Hosting.Dapr.Security;

/// <summary>
/// An etcd member's certificate and key in one PEM file, given as both <c>--cert-file</c> and <c>--key-file</c> (and the
/// peer ones). etcd reads the two paths at each TLS handshake, so one file replaced by a rename is never seen half
/// new: two files could be read as a new certificate with the old key between their two renames.
/// </summary>
internal sealed class EtcdMemberFile(string name, string path, string trustAnchorsFile)
{
    public string Name => name;
    /// <summary>The certificate followed by its key, 0600.</summary>
    public string Path => path;
    /// <summary>etcd's CA, which clients and peers must present a certificate from.</summary>
    public string TrustAnchorsFile => trustAnchorsFile;
    /// <summary>When the current certificate is due for renewal (70 % of its life).</summary>
    public DateTimeOffset RenewAt { get; private set; }

    /// <summary>A fresh key and certificate written over the file: a new 0600 file beside it, then renamed onto it.</summary>
    internal void Renew(CertificateAuthority authority, TimeSpan lifetime, DateTimeOffset now)
    {
        var issued = authority.IssueTls(name, ["localhost"], [System.Net.IPAddress.Loopback], lifetime);
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(System.Text.Encoding.ASCII.GetBytes(issued.CertificatePem + "\n" + issued.KeyPem + "\n"));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        RenewAt = RenewableIdentity.RenewalTime(now, now + lifetime);
    }
}
