using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>A <see cref="KeyPurpose"/> as the extended key usage it stands for, and whether a certificate carries it.</summary>
public static class KeyPurposes
{
    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public static string Oid(this KeyPurpose purpose) => purpose == KeyPurpose.ServerAuth ? ServerAuthOid : ClientAuthOid;

    public static bool Allows(this X509Certificate2 certificate, KeyPurpose purpose)
    {
        var wanted = purpose.Oid();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is not X509EnhancedKeyUsageExtension usages) continue;
            foreach (var oid in usages.EnhancedKeyUsages)
                if (oid.Value == wanted) return true;
        }
        return false;
    }
}
