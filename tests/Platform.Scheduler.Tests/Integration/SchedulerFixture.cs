using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.Security;
using Platform.SchedulerProtocol.Common;
using TestSupport;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>
/// A real scheduler process (mTLS on) and clients for it, per test: each app id and namespace a test speaks for gets
/// its own channel with a certificate naming it, as each sidecar has; <see cref="Admin"/> is the AppHost's identity.
/// </summary>
public sealed class SchedulerUnderTest : IAsyncDisposable
{
    private readonly Dictionary<SpiffeId, GrpcChannel> _channels = [];

    private SchedulerUnderTest(SchedulerProcess process) => Process = process;

    public SchedulerProcess Process { get; }

    /// <summary>The channel of app1 in the default namespace.</summary>
    public GrpcChannel Channel => ChannelFor("app1");
    public SchedulerProtocol.Scheduler.SchedulerClient Client => ClientFor("app1");
    public SchedulerAdmin.SchedulerAdminClient Admin => new(ChannelAs(SpiffeId.AppHost()));

    public GrpcChannel ChannelFor(string app, string ns = "default") => ChannelAs(TestIdentity.App(app, ns));

    public SchedulerProtocol.Scheduler.SchedulerClient ClientFor(string app, string ns = "default") => new(ChannelFor(app, ns));

    public GrpcChannel ChannelAs(SpiffeId id)
    {
        if (!_channels.TryGetValue(id, out var channel))
            _channels[id] = channel = GrpcChannel.ForAddress(Process.GrpcAddress, new GrpcChannelOptions { HttpHandler = TestIdentity.SchedulerClientHandler(id) });
        return channel;
    }

    public static async Task<SchedulerUnderTest> StartAsync(params string[] args) => new(await SchedulerProcess.StartAsync(extraArgs: args));

    /// <summary>A scheduler whose job store is the etcd cluster (Dapr's flags for an external cluster).</summary>
    public static async Task<SchedulerUnderTest> StartOnEtcdAsync(EtcdCluster etcd, params string[] args) =>
        await StartAsync([.. EtcdArgs(etcd), .. args]);

    /// <summary>Dapr's flags for the cluster, and a short leadership lease: a restarted scheduler waits for its earlier lease to run out.</summary>
    public static string[] EtcdArgs(EtcdCluster etcd) => [.. etcd.ClientArgs, "--Scheduler:Etcd:LeaseTtl=00:00:05"];

    public async Task RestartAsync()
    {
        await Process.RestartAsync();
        DisposeChannels();
    }

    private void DisposeChannels()
    {
        foreach (var channel in _channels.Values) channel.Dispose();
        _channels.Clear();
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
        await ClientFor(app, ns).ScheduleJobAsync(new ScheduleJobRequest { Name = name, Job = job, Metadata = Meta(app, ns), Overwrite = overwrite });
    }

    /// <summary>
    /// Waits (bounded) until the app has no stored job left. The scheduler deletes a job once it has no tick left
    /// (repeats, retries or ttl used up), so this is its own statement that it will dispatch nothing more for them.
    /// </summary>
    public Task WaitForNoJobsAsync(string app = "app1", double seconds = 15) =>
        Poll.UntilAsync(async () => (await ClientFor(app).ListJobsAsync(new ListJobsRequest { Metadata = Meta(app) })).Jobs.Count == 0,
            TimeSpan.FromSeconds(seconds), $"{app} having no jobs left");

    public async ValueTask DisposeAsync()
    {
        DisposeChannels();
        await Process.DisposeAsync();
    }
}
