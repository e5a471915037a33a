namespace Platform.Security;

/// <summary>The files of one process's identity, in the order of the flags that take them.</summary>
public sealed record IdentityFiles(string TrustAnchorsFile, string CertChainFile, string CertKeyFile)
{
    /// <summary><c>--trust-anchors-file … --cert-chain-file … --cert-key-file …</c></summary>
    public IEnumerable<string> Flags() =>
        ["--trust-anchors-file", TrustAnchorsFile, "--cert-chain-file", CertChainFile, "--cert-key-file", CertKeyFile];
}
