using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>
/// A Dapr identity, <c>spiffe://&lt;trust domain&gt;/ns/&lt;namespace&gt;/&lt;app id&gt;</c>, as Sentry writes it into the
/// URI subject alternative name of every workload certificate.
/// </summary>
public sealed record SpiffeId(string TrustDomain, string Namespace, string AppId)
{
    /// <summary>Dapr's default trust domain of apps (a Configuration's accessControl.trustDomain).</summary>
    public const string DefaultTrustDomain = "public";

    /// <summary>daprd's default --control-plane-trust-domain and the scheduler's default --trust-domain.</summary>
    public const string DefaultControlPlaneTrustDomain = "localhost";

    /// <summary>daprd's default --control-plane-namespace (self-hosted).</summary>
    public const string DefaultControlPlaneNamespace = "default";

    /// <summary>The scheduler's app id in its own identity (Dapr's cmd/scheduler).</summary>
    public const string SchedulerAppId = "dapr-scheduler";

    /// <summary>The AppHost's identity beside the control plane: the only caller of the scheduler's admin API.</summary>
    public const string AppHostAppId = "aspire-apphost";

    private const string Scheme = "spiffe://";

    public static SpiffeId Scheduler(string trustDomain = DefaultControlPlaneTrustDomain, string @namespace = DefaultControlPlaneNamespace)
        => new(trustDomain, @namespace, SchedulerAppId);

    public static SpiffeId AppHost(string trustDomain = DefaultControlPlaneTrustDomain, string @namespace = DefaultControlPlaneNamespace)
        => new(trustDomain, @namespace, AppHostAppId);

    /// <summary>A trust domain as SPIFFE allows it: lower-case letters, digits, dots, dashes and underscores.</summary>
    public static bool IsTrustDomain(string? value)
        => value is { Length: > 0 and <= 255 } && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_');

    public override string ToString() => $"{Scheme}{TrustDomain}/ns/{Namespace}/{AppId}";

    public Uri ToUri() => new(ToString());

    /// <summary>
    /// Parses Dapr's path form exactly: trust domain, "ns", namespace, app id and nothing after. An extra segment
    /// (<c>…/backupworker/anything</c>) is refused: tolerated, it would let one certificate pass for an app id it
    /// does not name exactly.
    /// </summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out SpiffeId? id)
    {
        id = null;
        if (value is null || !value.StartsWith(Scheme, StringComparison.Ordinal)) return false;
        var parts = value[Scheme.Length..].Split('/');
        if (parts.Length != 4 || parts[1] != "ns") return false;
        if (parts[0].Length == 0 || parts[2].Length == 0 || parts[3].Length == 0) return false;
        id = new SpiffeId(parts[0], parts[2], parts[3]);
        return true;
    }

    /// <summary>
    /// The certificate's SPIFFE id: its one URI name, which must be a <c>spiffe://</c> id in Dapr's form. Null when it
    /// has no URI name, more than one (of any scheme: an X.509-SVID carries exactly one), or one of another form.
    /// </summary>
    public static SpiffeId? FromCertificate(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions["2.5.29.17"];
        if (extension is null) return null;
        string? found = null;
        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (reader.HasData)
            {
                var tag = reader.PeekTag();
                if (tag.HasSameClassAndValue(uriTag))
                {
                    var uri = reader.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                    if (found is not null) return null;
                    found = uri;
                }
                else reader.ReadEncodedValue();
            }
        }
        catch (AsnContentException)
        {
            return null;
        }
        return TryParse(found, out var id) ? id : null;
    }
}
