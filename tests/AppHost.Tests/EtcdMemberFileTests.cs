using System.Security.Cryptography.X509Certificates;
using Platform.Hosting.Dapr.Security;
using Platform.Security;

namespace AppHost.Tests;

/// <summary>An etcd member's certificate file as the AppHost renews it: replaced whole, 0600, due again at 70 % of its life.</summary>
public sealed class EtcdMemberFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("etcd-member-file-").FullName;
    private readonly CertificateAuthority _etcdCa = CertificateAuthority.Create("member-file-tests etcd");

    public void Dispose()
    {
        _etcdCa.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void A_renewal_renames_a_new_certificate_and_key_onto_the_one_file_etcd_reads_as_both()
    {
        var file = new EtcdMemberFile("etcd-0", Path.Combine(_directory, "etcd-0.pem"), _etcdCa.WriteTrustAnchors(_directory));
        var now = DateTimeOffset.UtcNow;
        file.Renew(_etcdCa, TimeSpan.FromSeconds(10), now);
        using var first = X509Certificate2.CreateFromPemFile(file.Path, file.Path);
        Assert.True(first.HasPrivateKey);
        Assert.Equal(now + TimeSpan.FromSeconds(7), file.RenewAt);
        Assert.True(first.MatchesHostname("localhost"));
        Assert.InRange(new DateTimeOffset(first.NotAfter.ToUniversalTime()), now + TimeSpan.FromSeconds(8), now + TimeSpan.FromSeconds(11));

        file.Renew(_etcdCa, TimeSpan.FromSeconds(10), now + TimeSpan.FromSeconds(7));
        using var second = X509Certificate2.CreateFromPemFile(file.Path, file.Path);
        Assert.NotEqual(first.SerialNumber, second.SerialNumber);
        Assert.NotEqual(first.GetPublicKeyString(), second.GetPublicKeyString());
        Assert.Equal(now + TimeSpan.FromSeconds(14), file.RenewAt);
        // Nothing left beside it: no temporary file, no earlier key.
        Assert.Equal(["ca.crt", "etcd-0.pem"], Directory.GetFiles(_directory).Select(Path.GetFileName).Order());
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file.Path));
    }

    [Fact]
    public async Task The_run_issues_each_members_file_for_the_workload_lifetime_and_renews_it_on_its_own()
    {
        var builder = DistributedApplication.CreateBuilder();
        using var identities = RunIdentities.For(builder, new Platform.Hosting.Dapr.DaprOptions { WorkloadCertificateLifetime = TimeSpan.FromSeconds(3) }, _directory)!;
        var file = identities.EtcdMemberFileFor("etcd-0");
        using var first = X509Certificate2.CreateFromPemFile(file.Path, file.Path);
        // Issued for the workload lifetime, not the run's year.
        Assert.True(first.NotAfter.ToUniversalTime() < DateTime.UtcNow.AddSeconds(4));
        using var renewal = new EtcdMemberRenewal(identities, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<EtcdMemberRenewal>.Instance);
        await renewal.StartAsync(CancellationToken.None);
        try
        {
            await TestSupport.Poll.UntilAsync(() =>
            {
                using var current = X509Certificate2.CreateFromPemFile(file.Path, file.Path);
                return Task.FromResult(current.SerialNumber != first.SerialNumber && current.NotAfter > first.NotAfter);
            }, TimeSpan.FromSeconds(15), "a renewed member certificate");
        }
        finally
        {
            await renewal.StopAsync(CancellationToken.None);
        }
    }
}
