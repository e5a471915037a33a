using System.Security.Cryptography;
using Aspire.Hosting.Publishing;

namespace AppHost.Offsite;

/// <summary>A fresh random 256-bit key, base64: what an offsite repository's EncryptionKey takes.</summary>
public sealed class Base64KeyDefault : ParameterDefault
{
    public override string GetDefaultValue() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    // A deployment generates its own key; the manifest says nothing of this one.
    public override void WriteToManifest(ManifestPublishingContext context) { }
}
