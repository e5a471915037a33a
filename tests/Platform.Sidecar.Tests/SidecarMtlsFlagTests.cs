using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.Tests;

public sealed class SidecarMtlsFlagTests
{
    [Fact]
    public void Daprds_mtls_flags_bind_and_mtls_is_off_without_the_flag()
    {
        Assert.False(Flags.Bind("--app-id", "a").EnableMtls);
        var o = Flags.Bind("--app-id", "a", "--enable-mtls", "--trust-anchors-file", "/ca", "--cert-chain-file", "/c", "--cert-key-file", "/k",
            "--control-plane-trust-domain", "cluster.local", "--control-plane-namespace", "dapr-system", "--dapr-internal-grpc-port", "50002");
        Assert.True(o.EnableMtls);
        Assert.Equal(("/ca", "/c", "/k"), (o.TrustAnchorsFile, o.CertChainFile, o.CertKeyFile));
        Assert.Equal(("cluster.local", "dapr-system", 50002), (o.ControlPlaneTrustDomain, o.ControlPlaneNamespace, o.DaprInternalGrpcPort));
        Assert.Equal(("localhost", "default"), (Flags.Bind().ControlPlaneTrustDomain, Flags.Bind().ControlPlaneNamespace));
        Assert.Throws<ArgumentException>(() => SidecarFlags.Normalise(["--dapr-internal-grpc-port", "0"]));
    }
}
