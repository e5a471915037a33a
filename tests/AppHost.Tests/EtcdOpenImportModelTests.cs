using Platform.Hosting.Dapr;
using TestSupport;

namespace AppHost.Tests;

/// <summary>The AppHost's model over a data directory whose etcd cluster was open: read without starting anything.</summary>
public sealed class EtcdOpenImportModelTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apphost-import-model-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task An_open_etcd_directory_is_set_aside_marked_for_import_and_the_locked_members_take_other_peer_ports()
    {
        // As an AppHost before the lock left it: peer ports kept, no scheme file, the members' data (here a stand-in).
        var etcd = Path.Combine(_data, "etcd");
        Directory.CreateDirectory(Path.Combine(etcd, "etcd-0", "member"));
        int[] oldPorts = [FreePort.Next(), FreePort.Next(), FreePort.Next()];
        File.WriteAllLines(Path.Combine(etcd, EtcdPeerPorts.FileName), oldPorts.Select((p, i) => $"etcd-{i} {p}"));

        await using (var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Scheduler:Replicas=3", $"--AppHost:DataDirectory={_data}", $"--Parameters:backupapi-key={RunningApp.ApiKey}"],
            (options, _) => options.DisableDashboard = true))
        {
            Assert.Equal(3, appHost.Resources.OfType<EtcdMemberResource>().Count());
        }

        // Kept (not deleted), private, and pending: the replicas' start imports its jobs before any serves.
        var setAside = Assert.Single(EtcdDataDirectory.PendingImports(etcd));
        Assert.StartsWith("etcd-open-", Path.GetFileName(setAside));
        Assert.True(Directory.Exists(Path.Combine(setAside, "etcd-0", "member")));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(setAside));
        // The old members run beside the new ones during the import: never on the same peer port.
        var newPorts = EtcdPeerPorts.Load(etcd).Values;
        Assert.Equal(3, newPorts.Count);
        Assert.Empty(newPorts.Intersect(oldPorts));
        Assert.Equal("https", File.ReadAllText(Path.Combine(etcd, EtcdDataDirectory.SchemeFileName)));
    }
}
