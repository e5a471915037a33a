namespace Platform.Security;

/// <summary>
/// Where a process finds its identity, by daprd's names: the trust anchors in <c>--trust-anchors-file</c> or
/// <c>DAPR_TRUST_ANCHORS</c>, its own certificate chain and key in <c>--cert-chain-file</c> / <c>--cert-key-file</c>
/// or <c>DAPR_CERT_CHAIN</c> / <c>DAPR_CERT_KEY</c> (PEM; the variables daprd read before Sentry issued every
/// certificate itself). A file wins over its variable.
/// </summary>
public sealed record IdentitySources(string? TrustAnchorsFile, string? CertChainFile, string? CertKeyFile)
{
    public const string TrustAnchorsVariable = "DAPR_TRUST_ANCHORS";
    public const string CertChainVariable = "DAPR_CERT_CHAIN";
    public const string CertKeyVariable = "DAPR_CERT_KEY";

    internal string? TrustAnchorsPem => Read(TrustAnchorsFile, TrustAnchorsVariable, "--trust-anchors-file");
    internal string? CertChainPem => Read(CertChainFile, CertChainVariable, "--cert-chain-file");
    internal string? CertKeyPem => Read(CertKeyFile, CertKeyVariable, "--cert-key-file");

    private static string? Read(string? file, string variable, string flag)
    {
        if (!string.IsNullOrEmpty(file))
        {
            try { return File.ReadAllText(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IdentityException($"cannot read {flag} {file}: {e.Message}", e);
            }
        }
        var value = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(value) ? null : value;
    }
}
