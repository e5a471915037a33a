using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using Platform.Scheduler.Hosting;
using Platform.Security;

namespace Platform.Scheduler.Tests.Security;

public class IdentityUnitTests
{
    [Fact]
    public void Tls_is_on_unless_turned_off_with_daprs_flag()
    {
        static SchedulerOptions Bind(params string[] args) =>
            new ConfigurationBuilder().AddCommandLine(args, SchedulerOptions.SwitchMappings).Build()
                .GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();
        Assert.True(Bind().TlsEnabled);
        Assert.False(Bind("--tls-enabled=false").TlsEnabled);
        var o = Bind("--trust-anchors-file", "/a", "--cert-chain-file", "/c", "--cert-key-file", "/k");
        Assert.Equal(("/a", "/c", "/k"), (o.TrustAnchorsFile, o.CertChainFile, o.CertKeyFile));
    }

    [Theory]
    [InlineData("spiffe://public/ns/default/app1", "public", "default", "app1")]
    public void Spiffe_ids_parse_in_daprs_form(string value, string td, string ns, string app)
    {
        Assert.True(SpiffeId.TryParse(value, out var id));
        Assert.Equal(new SpiffeId(td, ns, app), id);
    }

    [Theory]
    [InlineData("spiffe://public/default/app1")]
    [InlineData("spiffe://public/ns//app1")]
    [InlineData("spiffe:///ns/default/app1")]
    [InlineData("https://public/ns/default/app1")]
    [InlineData("spiffe://public/ns/default")]
    [InlineData("spiffe://td/ns/n/a/extra")] // exactly four segments: an extra one would pass for the app id before it
    public void Malformed_ids_are_refused(string value) => Assert.False(SpiffeId.TryParse(value, out _));

    [Fact]
    public void An_issued_certificate_names_its_id_and_chains_only_to_its_own_authority()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var ca = CertificateAuthority.Create("unit", time);
        using var other = CertificateAuthority.Create("other", time);
        var id = new SpiffeId("public", "default", "app1");
        var issued = ca.Issue(id);
        Assert.DoesNotContain("PRIVATE KEY", issued.CertificatePem);

        using var identity = WorkloadIdentity.FromPem(ca.TrustAnchorsPem, issued.CertificatePem, issued.KeyPem, time);
        Assert.Equal(id, identity.Id);
        Assert.Equal(id, SpiffeId.FromCertificate(identity.Certificate));
        var lifetime = CertificateAuthority.WorkloadLifetime + CertificateAuthority.AllowedClockSkew;
        Assert.InRange(identity.Certificate.NotAfter - identity.Certificate.NotBefore, lifetime - TimeSpan.FromSeconds(2), lifetime + TimeSpan.FromSeconds(2));

        var foreign = Assert.Throws<IdentityException>(() => WorkloadIdentity.FromPem(other.TrustAnchorsPem, issued.CertificatePem, issued.KeyPem, time));
        Assert.StartsWith("own certificate refused: certificate is not signed by the trust anchors", foreign.Message);

        // Past its lifetime the same certificate is refused.
        time.Advance(CertificateAuthority.WorkloadLifetime + TimeSpan.FromMinutes(1));
        Assert.Null(TrustBundle.FromPem(ca.TrustAnchorsPem, time).Verify(identity.Certificate, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void Identity_files_are_private()
    {
        using var ca = CertificateAuthority.Create("unit");
        var directory = Path.Combine(Path.GetTempPath(), $"pki-unit-{Guid.NewGuid():N}");
        try
        {
            var files = ca.WriteFiles(directory, "app1", ca.Issue(new SpiffeId("public", "default", "app1")));
            if (OperatingSystem.IsWindows()) return;
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
            foreach (var file in new[] { files.TrustAnchorsFile, files.CertChainFile, files.CertKeyFile })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
