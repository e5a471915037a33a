using Platform.Security;

namespace Platform.Sentry;

/// <summary>
/// Where the Sentry's CA comes from. Handed over: the PEM file with the CA certificate and key is read once and
/// deleted before anything else happens, so the key lives on only in this process's memory. Made here: a fresh root
/// that never leaves memory, whose certificate (public) is published for the processes that must trust it.
/// </summary>
public static class SentryAuthority
{
    public static CertificateAuthority Load(SentryOptions options, TimeProvider time)
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
            return CertificateAuthority.FromPem(pem, pem, time);
        }
        var authority = CertificateAuthority.Create("dapr-sentry", time);
        var target = Path.GetFullPath(options.WriteTrustAnchorsFile!);
        var temporary = target + ".tmp-" + Environment.ProcessId;
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var writer = new StreamWriter(temporary, System.Text.Encoding.ASCII, fileOptions)) writer.Write(authority.TrustAnchorsPem);
        // Readers never see half a file.
        File.Move(temporary, target, overwrite: true);
        return authority;
    }
}
