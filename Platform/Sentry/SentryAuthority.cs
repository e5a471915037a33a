using System.Security.Cryptography;
using Platform.Security;

namespace Platform.Sentry;

/// <summary>
/// Where the Sentry's CA comes from. Handed over: the PEM file with the CA certificate and key is read once and
/// deleted before anything else happens, so the key lives on only in this process's memory; a second certificate and
/// key after them are etcd's CA, for the scheduler replicas' etcd client certificates. Made here: a fresh root that
/// never leaves memory, whose certificate (public) is published for the processes that must trust it.
/// </summary>
public static class SentryAuthority
{
    /// <summary>The workload CA, and etcd's CA when the handoff holds one.</summary>
    public static (CertificateAuthority Workload, CertificateAuthority? Etcd) Load(SentryOptions options, TimeProvider time)
    {
        if (options.CaCredentialsFile is { } handoff)
        {
            string pem;
            try
            {
                pem = File.ReadAllText(handoff);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IdentityException($"cannot read --ca-credentials-file {handoff}: {e.Message} (it is deleted once read: a restarted Sentry needs a new one)", e);
            }
            finally
            {
                try { File.Delete(handoff); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            return Split(pem, time);
        }
        var authority = CertificateAuthority.Create("dapr-sentry", time);
        var target = Path.GetFullPath(options.WriteTrustAnchorsFile!);
        var temporary = target + ".tmp-" + Environment.ProcessId;
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(temporary, System.Text.Encoding.ASCII, fileOptions)) writer.Write(authority.TrustAnchorsPem);
        // Readers never see half a file.
        File.Move(temporary, target, overwrite: true);
        return (authority, null);
    }

    /// <summary>The PEM blocks in pairs, certificate then key: the workload CA's, then (optionally) etcd's.</summary>
    private static (CertificateAuthority Workload, CertificateAuthority? Etcd) Split(string pem, TimeProvider time)
    {
        var blocks = new List<string>();
        var rest = pem.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            blocks.Add(rest[fields.Location].ToString());
            rest = rest[fields.Location.End..];
        }
        if (blocks.Count is not (2 or 4))
            throw new IdentityException("--ca-credentials-file must hold a CA certificate and its key, optionally followed by etcd's CA certificate and key");
        var workload = CertificateAuthority.FromPem(blocks[0], blocks[1], time);
        return (workload, blocks.Count == 4 ? CertificateAuthority.FromPem(blocks[2], blocks[3], time) : null);
    }
}
