using Etcdserverpb;
using Platform.Scheduler.Storage;
using Platform.Scheduler.Storage.Etcd;
using TestSupport;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>What only the etcd store does; what every store does is in <see cref="StoreContractTests"/>.</summary>
public class EtcdStoreTests
{
    [EtcdFact]
    public async Task With_auth_enabled_the_username_and_password_flags_are_used_and_no_credentials_are_refused()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        using (var connection = EtcdConnection.Create(etcd.StoreOptions()))
        {
            var auth = new Auth.AuthClient(connection.Channel);
            await auth.RoleAddAsync(new AuthRoleAddRequest { Name = "root" });
            await auth.UserAddAsync(new AuthUserAddRequest { Name = "root", Password = "s3cret" });
            await auth.UserGrantRoleAsync(new AuthUserGrantRoleRequest { User = "root", Role = "root" });
            await auth.AuthEnableAsync(new AuthEnableRequest());
        }

        var options = etcd.StoreOptions();
        options.ClientUsername = "root";
        options.ClientPassword = "s3cret";
        await using (var store = new EtcdJobStore(options))
        {
            await store.OpenAsync();
            var job = new StoredJob { Key = new JobKey("ns", "app", "j"), PartitionId = 1, Schedule = "@daily", FailurePolicy = [], Created = 1 };
            Assert.True(await store.PutAsync(job, overwrite: false));
            Assert.Equal(1UL, (await store.GetAsync(job.Key))!.PartitionId);
        }

        var anonymousOptions = etcd.StoreOptions();
        anonymousOptions.ConnectTimeout = TimeSpan.FromSeconds(30);
        await using var anonymous = new EtcdJobStore(anonymousOptions);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => anonymous.OpenAsync());
        Assert.Contains("refused the job store", e.Message);
        Assert.Contains("--etcd-client-username", e.Message);
    }
}
