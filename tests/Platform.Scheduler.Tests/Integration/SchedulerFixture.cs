using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Common;
using TestSupport;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>A real scheduler process and a client for it, per test.</summary>
public sealed class SchedulerUnderTest : IAsyncDisposable
{
    private SchedulerUnderTest(SchedulerProcess process)
    {
        Process = process;
        Channel = GrpcChannel.ForAddress(process.GrpcAddress);
        Client = new SchedulerProtocol.Scheduler.SchedulerClient(Channel);
    }

    public SchedulerProcess Process { get; }
    public GrpcChannel Channel { get; private set; }
    public SchedulerProtocol.Scheduler.SchedulerClient Client { get; private set; }

    public static async Task<SchedulerUnderTest> StartAsync(params string[] args) => new(await SchedulerProcess.StartAsync(extraArgs: args));

    /// <summary>A scheduler whose job store is the etcd cluster (Dapr's flags for an external cluster).</summary>
    public static async Task<SchedulerUnderTest> StartOnEtcdAsync(EtcdCluster etcd, params string[] args) =>
        await StartAsync([.. EtcdArgs(etcd), .. args]);

    public static string[] EtcdArgs(EtcdCluster etcd) => ["--etcd-embed=false", "--etcd-client-endpoints=" + etcd.ClientEndpoints];

    public async Task RestartAsync()
    {
        await Process.RestartAsync();
        Channel.Dispose();
        Channel = GrpcChannel.ForAddress(Process.GrpcAddress);
        Client = new SchedulerProtocol.Scheduler.SchedulerClient(Channel);
    }

    public static JobMetadata Meta(string app = "app1", string ns = "default") => new()
    {
        AppId = app,
        Namespace = ns,
        Target = new JobTargetMetadata { Job = new TargetJob() },
    };

    public async Task ScheduleAsync(string name, string? schedule = null, uint? repeats = null, string? due = null, string? ttl = null,
        JobFailurePolicy? policy = null, string app = "app1", bool overwrite = false, string ns = "default")
    {
        var job = new Job();
        if (schedule is not null) job.Schedule = schedule;
        if (repeats is not null) job.Repeats = repeats.Value;
        if (due is not null) job.DueTime = due;
        if (ttl is not null) job.Ttl = ttl;
        if (policy is not null) job.FailurePolicy = policy;
        await Client.ScheduleJobAsync(new ScheduleJobRequest { Name = name, Job = job, Metadata = Meta(app, ns), Overwrite = overwrite });
    }

    /// <summary>
    /// Waits (bounded) until the app has no stored job left. The scheduler deletes a job once it has no tick left
    /// (repeats, retries or ttl used up), so this is its own statement that it will dispatch nothing more for them.
    /// </summary>
    public Task WaitForNoJobsAsync(string app = "app1", double seconds = 15) =>
        Poll.UntilAsync(async () => (await Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta(app) })).Jobs.Count == 0,
            TimeSpan.FromSeconds(seconds), $"{app} having no jobs left");

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Process.DisposeAsync();
    }
}
