using System.Text;
using Platform.Scheduler.Storage;
using Platform.Scheduler.Storage.Etcd;
using Platform.Security;
using TestSupport;
using static Platform.Scheduler.Tests.Storage.EtcdAttacker;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The cluster admits only holders of a certificate from its own CA. Each attack runs as another local process (curl on
/// etcd's JSON gateway, what <c>etcdctl</c> does over gRPC): in plain text, over TLS without a certificate, and over TLS
/// with a certificate of another CA, among them an app's own workload certificate (backupworker's) from the run's CA.
/// None may read a job or write one; the scheduler's certificate, as a control, can.
/// </summary>
[Collection(EtcdStorageCollection.Name)]
public sealed class EtcdLockTests(EtcdClusterFixture etcd)
{
    private readonly string _prefix = "lock-" + Guid.NewGuid().ToString("N")[..8];

    [EtcdFact]
    public async Task An_anonymous_client_can_neither_read_nor_write_jobs()
    {
        var cluster = etcd.Cluster;
        await using var store = await StoreWithOneJobAsync();

        // Plain text (what today's open members answered), and TLS without presenting a certificate.
        foreach (var (url, tlsArgs) in new[] { (cluster.ClientUrl().Replace("https://", "http://", StringComparison.Ordinal), Array.Empty<string>()),
                     (cluster.ClientUrl(), ["--cacert", cluster.CaFile!]) })
        {
            var read = await CurlAsync(url + "/v3/kv/range", RangeBody(), tlsArgs);
            Assert.DoesNotContain("\"kvs\"", read.Output);
            var write = await CurlAsync(url + "/v3/kv/put", PutBody(_prefix + "/jobs/app||default||backupworker||injected", "{}"), tlsArgs);
            Assert.DoesNotContain("\"revision\"", write.Output);
        }
        Assert.Null(await store.GetAsync(new JobKey("default", "backupworker", "injected")));

        // Control: the same request with the scheduler's certificate reads the job, so the refusals above are the lock's.
        var allowed = await CurlAsync(cluster.ClientUrl() + "/v3/kv/range", RangeBody(),
            ["--cacert", cluster.CaFile!, "--cert", cluster.ClientCertFile!, "--key", cluster.ClientKeyFile!]);
        Assert.Contains("\"kvs\"", allowed.Output);
    }

    [EtcdFact]
    public async Task A_certificate_of_another_ca_neither_an_apps_workload_certificate_can_read_or_write()
    {
        var cluster = etcd.Cluster;
        await using var store = await StoreWithOneJobAsync();
        using var foreign = CertificateAuthority.Create("attacker");
        var directory = Directory.CreateTempSubdirectory("etcd-attack-").FullName;
        try
        {
            var identities = new[]
            {
                // A certificate from a CA of the attacker's own, naming the host as a member's does.
                foreign.WriteFiles(Path.Combine(directory, "foreign"), "client", foreign.IssueTls("dapr-scheduler", ["localhost"], [System.Net.IPAddress.Loopback])),
                // backupworker's own mTLS identity, from the CA every app and sidecar of the run trusts.
                TestIdentity.Files(TestIdentity.App("backupworker")),
            };
            foreach (var identity in identities)
            {
                string[] tlsArgs = ["--cacert", cluster.CaFile!, "--cert", identity.CertChainFile, "--key", identity.CertKeyFile];
                var read = await CurlAsync(cluster.ClientUrl() + "/v3/kv/range", RangeBody(), tlsArgs);
                Assert.DoesNotContain("\"kvs\"", read.Output);
                var write = await CurlAsync(cluster.ClientUrl() + "/v3/kv/put", PutBody(_prefix + "/jobs/app||default||backupworker||injected", "{}"), tlsArgs);
                Assert.DoesNotContain("\"revision\"", write.Output);
            }
            Assert.Null(await store.GetAsync(new JobKey("default", "backupworker", "injected")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [EtcdFact]
    public async Task The_store_refuses_a_member_whose_certificate_is_not_from_the_given_ca()
    {
        var options = etcd.Cluster.StoreOptions(_prefix);
        using var other = CertificateAuthority.Create("other");
        var directory = Directory.CreateTempSubdirectory("etcd-ca-").FullName;
        try
        {
            // The client presents a good certificate but trusts another CA: it must not talk to these members.
            options.ClientCaFile = other.WriteFiles(directory, "x", other.IssueTls("x", [], [])).TrustAnchorsFile;
            options.ConnectTimeout = TimeSpan.FromSeconds(2);
            await using var store = new EtcdJobStore(options);
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => store.OpenAsync());
            Assert.Contains("--etcd-client-ca-file", e.Message + e.InnerException?.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task<EtcdJobStore> StoreWithOneJobAsync()
    {
        var store = new EtcdJobStore(etcd.Cluster.StoreOptions(_prefix));
        await store.OpenAsync();
        var job = new StoredJob { Key = new JobKey("default", "backupworker", "daily"), PartitionId = 1, Schedule = "@daily", FailurePolicy = [], Created = 1 };
        Assert.True(await store.PutAsync(job, overwrite: false));
        return store;
    }

    private string RangeBody()
    {
        var key = Encoding.UTF8.GetBytes(_prefix + "/");
        var end = (byte[])key.Clone();
        end[^1]++;
        return $"{{\"key\":\"{Convert.ToBase64String(key)}\",\"range_end\":\"{Convert.ToBase64String(end)}\"}}";
    }

    private static string PutBody(string key, string value) => $"{{\"key\":\"{Base64(key)}\",\"value\":\"{Base64(value)}\"}}";
}
