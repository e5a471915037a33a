using Etcdserverpb;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Hosting.Dapr;
using Platform.Hosting.Dapr.EtcdImport;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Common;
using Platform.Security;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// Scheduler replica mode after its etcd cluster was locked: the jobs an open cluster kept (as every version before the
/// lock wrote them) are carried into the locked cluster once, before any replica serves. At process level: real etcd
/// members (the open ones started as the AppHost starts them for the import), a real scheduler writing and listing jobs.
/// </summary>
public sealed class EtcdOpenImportTests(EtcdOpenImportTests.OpenDirectory open) : IClassFixture<EtcdOpenImportTests.OpenDirectory>
{
    private const string App = "backupworker";
    /// <summary>The schedule of the database whose backup is the last restorable one: it must outlive the upgrade.</summary>
    private const string LastRestorableSchedule = "orders-nightly";
    private static readonly string[] Jobs = [LastRestorableSchedule, "billing-hourly", "catalog-weekly", "audit-daily"];
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// An open cluster's directory as the AppHost kept it (<c>peer-ports</c>, <c>etcd-0..2</c>), with the jobs a scheduler
    /// replica wrote into it and the leadership key of that replica (killed, so its lease was never revoked); and a
    /// locked cluster (TLS, client certificates from its own CA) to import into, emptied before each test.
    /// </summary>
    public sealed class OpenDirectory : IAsyncLifetime
    {
        public string Root { get; } = Directory.CreateTempSubdirectory("etcd-import-").FullName;
        public string Template => Path.Combine(Root, "template");
        public Dictionary<string, ByteString> JobValues { get; } = [];
        public string CounterKey { get; private set; } = "";
        public ByteString CounterValue { get; private set; } = ByteString.Empty;
        public EtcdCluster Locked { get; private set; } = null!;
        private int _runs;

        public async Task InitializeAsync()
        {
            if (EtcdCluster.MissingReason is not null) return;
            Directory.CreateDirectory(Template);
            File.WriteAllLines(Path.Combine(Template, EtcdPeerPorts.FileName), Enumerable.Range(0, 3).Select(i => $"etcd-{i} {FreePort.Next()}"));
            foreach (var i in Enumerable.Range(0, 3)) CertificateAuthority.CreatePrivateDirectory(Path.Combine(Template, $"etcd-{i}"));
            var lockedStart = EtcdCluster.StartAsync(tls: true);
            await using (var members = await OpenEtcdMembers.StartAsync(EtcdCluster.Binary, Template, "scheduler-etcd", Timeout, CancellationToken.None))
            {
                await using (var scheduler = await SchedulerProcess.StartAsync(extraArgs:
                    ["--etcd-embed=false", $"--etcd-client-endpoints=127.0.0.1:{members.ClientPort}", "--Scheduler:Etcd:LeaseTtl=00:00:05"]))
                {
                    using var channel = GrpcChannel.ForAddress(scheduler.GrpcAddress,
                        new GrpcChannelOptions { HttpHandler = TestIdentity.SchedulerClientHandler(TestIdentity.App(App)) });
                    var client = new Scheduler.SchedulerClient(channel);
                    foreach (var name in Jobs)
                        await client.ScheduleJobAsync(new ScheduleJobRequest
                        {
                            Name = name,
                            Job = new Job { Schedule = "@every 24h", Data = Any.Pack(new StringValue { Value = $"{{\"database\":\"{name}\"}}" }) },
                            Metadata = Meta(),
                        });
                    await scheduler.KillAsync();
                }
                using var kv = EtcdKvChannel.Plain(members.ClientPort);
                foreach (var item in (await kv.Kv.RangeAsync(Prefixed("dapr/jobs/"))).Kvs) JobValues[item.Key.ToStringUtf8()] = item.Value;
                // The last restorable backup's schedule has fired before: its progress (count 7) is kept beside it, as the
                // scheduler keeps it, and must come along, or the schedule would count its repeats afresh.
                var (key, value) = JobValues.Single(j => j.Key.EndsWith("||" + LastRestorableSchedule, StringComparison.Ordinal));
                var partition = System.Text.Json.JsonDocument.Parse(value.Memory).RootElement.GetProperty("PartitionId").GetUInt64();
                CounterKey = "dapr/counters/" + key["dapr/jobs/".Length..];
                CounterValue = ByteString.CopyFromUtf8($"{{\"JobPartitionId\":{partition},\"Count\":7,\"Attempts\":0}}");
                await kv.Kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(CounterKey), Value = CounterValue });
                Assert.NotEmpty((await kv.Kv.RangeAsync(Prefixed("dapr/leadership/"))).Kvs);
            }
            Assert.Equal(Jobs.Length, JobValues.Count);
            Locked = await lockedStart;
        }

        public async Task DisposeAsync()
        {
            if (Locked is not null) await Locked.DisposeAsync();
            try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        /// <summary>
        /// A data directory as the AppHost leaves it at a locked start: the open cluster marked and set aside beside a
        /// new <c>etcd/</c>, whose keys the (emptied) locked cluster does not hold yet. Returns the new etcd directory.
        /// </summary>
        public async Task<string> FreshDataDirectoryAsync()
        {
            using (var kv = LockedKv()) await kv.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8("dapr/"), RangeEnd = ByteString.CopyFromUtf8("dapr0") });
            var data = Directory.CreateDirectory(Path.Combine(Root, $"data-{Interlocked.Increment(ref _runs)}")).FullName;
            var etcd = Path.Combine(data, "etcd");
            Copy(Template, etcd);
            EtcdDataDirectory.Prepare(etcd, ["etcd-0", "etcd-1", "etcd-2"], "https");
            return etcd;
        }

        internal EtcdKvChannel LockedKv() => EtcdKvChannel.Locked(new Uri(Locked.ClientUrl()), LockedClient);

        public IdentityFiles LockedClient => new(Locked.CaFile!, Locked.ClientCertFile!, Locked.ClientKeyFile!);

        private static void Copy(string from, string to)
        {
            CertificateAuthority.CreatePrivateDirectory(to);
            foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            foreach (var directory in Directory.GetDirectories(from)) Copy(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }

    private static JobMetadata Meta() => new() { AppId = App, Namespace = "default", Target = new JobTargetMetadata { Job = new TargetJob() } };

    private static RangeRequest Prefixed(string prefix)
    {
        var end = prefix[..^1] + (char)(prefix[^1] + 1);
        return new RangeRequest { Key = ByteString.CopyFromUtf8(prefix), RangeEnd = ByteString.CopyFromUtf8(end) };
    }

    private Task ImportAsync(string etcd, Func<int, Task>? afterEach = null) =>
        EtcdOpenDataImport.RunAsync(etcd, EtcdCluster.Binary, "scheduler-etcd", new Uri(open.Locked.ClientUrl()), open.LockedClient,
            NullLogger.Instance, CancellationToken.None, afterEach);

    private static string SetAside(string etcd) => Assert.Single(EtcdDataDirectory.PendingImports(etcd));

    [EtcdFact]
    public async Task The_open_clusters_jobs_are_in_the_locked_cluster_and_a_replica_lists_them_and_the_directory_is_kept_as_imported()
    {
        var etcd = await open.FreshDataDirectoryAsync();
        var setAside = SetAside(etcd);
        Assert.StartsWith("etcd-open-", Path.GetFileName(setAside));

        await ImportAsync(etcd);

        // Kept, private, and named so that it is clear it was imported; nothing is pending any more.
        Assert.False(Directory.Exists(setAside));
        Assert.True(Directory.Exists(setAside + EtcdDataDirectory.ImportedSuffix));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(setAside + EtcdDataDirectory.ImportedSuffix));
        Assert.Empty(EtcdDataDirectory.PendingImports(etcd));
        using (var kv = open.LockedKv())
        {
            var jobs = (await kv.Kv.RangeAsync(Prefixed("dapr/jobs/"))).Kvs;
            Assert.Equal(open.JobValues.OrderBy(j => j.Key, StringComparer.Ordinal), jobs.Select(j => KeyValuePair.Create(j.Key.ToStringUtf8(), j.Value)));
            // The old replica's leadership key is not carried: it belongs to a run and a lease that are gone.
            Assert.Empty((await kv.Kv.RangeAsync(Prefixed("dapr/leadership/"))).Kvs);
            Assert.Single((await kv.Kv.RangeAsync(Prefixed("dapr/imports/"))).Kvs);
            var counter = Assert.Single((await kv.Kv.RangeAsync(Prefixed("dapr/counters/"))).Kvs);
            Assert.Equal(open.CounterKey, counter.Key.ToStringUtf8());
            Assert.Equal(open.CounterValue, counter.Value);
        }

        // A replica on the locked cluster has every schedule, the last restorable backup's among them: the worker will
        // not take it for ended, and that database keeps being backed up after the upgrade.
        await using var scheduler = await SchedulerProcess.StartAsync(extraArgs: [.. open.Locked.ClientArgs, "--Scheduler:Etcd:LeaseTtl=00:00:05"]);
        using var channel = GrpcChannel.ForAddress(scheduler.GrpcAddress,
            new GrpcChannelOptions { HttpHandler = TestIdentity.SchedulerClientHandler(TestIdentity.App(App)) });
        var listed = await new Scheduler.SchedulerClient(channel).ListJobsAsync(new ListJobsRequest { Metadata = Meta() });
        Assert.Equal(Jobs.Order(StringComparer.Ordinal), listed.Jobs.Select(j => j.Name).Order(StringComparer.Ordinal));
        Assert.Equal("@every 24h", listed.Jobs.Single(j => j.Name == LastRestorableSchedule).Job.Schedule);
    }

    [EtcdFact]
    public async Task A_job_deleted_after_the_import_does_not_come_back_at_a_later_start()
    {
        var etcd = await open.FreshDataDirectoryAsync();
        var setAside = SetAside(etcd);
        await ImportAsync(etcd);
        var deleted = open.JobValues.Keys.Single(k => k.EndsWith("||billing-hourly", StringComparison.Ordinal));
        using var kv = open.LockedKv();
        await kv.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(deleted) });

        // The next start: the set-aside directory is no longer pending, so nothing is imported.
        EtcdDataDirectory.Prepare(etcd, ["etcd-0", "etcd-1", "etcd-2"], "https");
        Assert.Empty(EtcdDataDirectory.PendingImports(etcd));
        // Even were it pending again (a crash between the marker and the rename), the marker key makes the import a no-op.
        Directory.Move(setAside + EtcdDataDirectory.ImportedSuffix, setAside);
        await ImportAsync(etcd);

        var jobs = (await kv.Kv.RangeAsync(Prefixed("dapr/jobs/"))).Kvs.Select(j => j.Key.ToStringUtf8()).ToList();
        Assert.DoesNotContain(deleted, jobs);
        // The other schedules, the last restorable backup's among them, are still there.
        Assert.Equal(Jobs.Length - 1, jobs.Count);
        Assert.Contains(jobs, j => j.EndsWith("||" + LastRestorableSchedule, StringComparison.Ordinal));
    }

    [EtcdFact]
    public async Task An_import_cut_short_and_done_again_puts_each_job_exactly_once_and_overwrites_none()
    {
        var etcd = await open.FreshDataDirectoryAsync();
        var setAside = SetAside(etcd);
        // The AppHost dies after two jobs are in: no marker, the directory still pending and untouched.
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => ImportAsync(etcd,
            put => put == 2 ? throw new IOException("the AppHost stopped here") : Task.CompletedTask));
        Assert.Contains(setAside, failure.Message, StringComparison.Ordinal);
        Assert.Equal(setAside, SetAside(etcd));
        using var kv = open.LockedKv();
        Assert.Equal(2, (await kv.Kv.RangeAsync(Prefixed("dapr/jobs/"))).Kvs.Count);
        Assert.Empty((await kv.Kv.RangeAsync(Prefixed("dapr/imports/"))).Kvs);

        await ImportAsync(etcd);

        var jobs = (await kv.Kv.RangeAsync(Prefixed("dapr/jobs/"))).Kvs;
        Assert.Equal(open.JobValues.Count, jobs.Count);
        // Version 1: each key was written once, the two of the first run not written again by the second.
        Assert.All(jobs, j => Assert.Equal(1, j.Version));
        Assert.All(jobs, j => Assert.Equal(open.JobValues[j.Key.ToStringUtf8()], j.Value));
        Assert.Contains(jobs, j => j.Key.ToStringUtf8().EndsWith("||" + LastRestorableSchedule, StringComparison.Ordinal));
        Assert.Empty(EtcdDataDirectory.PendingImports(etcd));
    }
}
