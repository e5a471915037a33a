using Grpc.Core;
using Platform.SentryProtocol.V1;

namespace Platform.Sentry;

/// <summary><c>dapr.proto.sentry.v1.CA</c>: a thin front on <see cref="CertificateSigner"/>.</summary>
public sealed class CaService(CertificateSigner signer) : CA.CABase
{
    public override Task<SignCertificateResponse> SignCertificate(SignCertificateRequest request, ServerCallContext context)
        => Task.FromResult(signer.Sign(request));
}
