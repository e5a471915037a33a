using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.Security;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// A scheduler that serves only the directory: its WatchHosts announces whatever address set the test tells it (or
/// answers UNIMPLEMENTED, as a Dapr 1.14 scheduler does). Its WatchJobs only records the sidecar's initial message and
/// holds the stream. It speaks mTLS as the scheduler, so an mTLS sidecar dials it as it dials any replica.
/// </summary>
public sealed class DirectoryScheduler(bool unimplemented = false) : SchedulerProtocol.Scheduler.SchedulerBase, IAsyncDisposable
{
    private readonly Lock _gate = new();
    private WebApplication? _app;
    private string[]? _latest;
    private Channel<string[]>? _current;
    private int _calls;

    public int Port { get; } = FreePort.Next();
    public string HostAddress => $"127.0.0.1:{Port}";
    /// <summary>One item per WatchHosts call received.</summary>
    public Channel<int> WatchHostsCalls { get; } = Channel.CreateUnbounded<int>();
    public Channel<WatchJobsRequestInitial> Initials { get; } = Channel.CreateUnbounded<WatchJobsRequestInitial>();

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        var served = TestIdentity.Identity(SpiffeId.Scheduler());
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            l.UseMtls(served);
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        _app = builder.Build();
        _app.MapGrpcService<DirectoryScheduler>();
        await _app.StartAsync();
    }

    /// <summary>Sends the set on the open WatchHosts stream; a stream opened later starts with the latest set.</summary>
    public void Announce(params string[] addresses)
    {
        lock (_gate)
        {
            _latest = addresses;
            _current?.Writer.TryWrite(addresses);
        }
    }

    /// <summary>Ends the open WatchHosts stream from the server side.</summary>
    public void EndWatch()
    {
        lock (_gate) _current?.Writer.TryComplete();
    }

    public override async Task WatchHosts(WatchHostsRequest request, IServerStreamWriter<WatchHostsResponse> responseStream, ServerCallContext context)
    {
        await WatchHostsCalls.Writer.WriteAsync(Interlocked.Increment(ref _calls));
        if (unimplemented) throw new RpcException(new Status(StatusCode.Unimplemented, "unknown method WatchHosts"));
        var outbox = Channel.CreateUnbounded<string[]>();
        lock (_gate)
        {
            _current?.Writer.TryComplete();
            _current = outbox;
            if (_latest is { } latest) outbox.Writer.TryWrite(latest);
        }
        try
        {
            await foreach (var addresses in outbox.Reader.ReadAllAsync(context.CancellationToken))
                await responseStream.WriteAsync(new WatchHostsResponse { Hosts = { addresses.Select(a => new Host { Address = a }) } });
        }
        catch (OperationCanceledException) { /* the sidecar went */ }
    }

    public override async Task WatchJobs(IAsyncStreamReader<WatchJobsRequest> requestStream, IServerStreamWriter<WatchJobsResponse> responseStream, ServerCallContext context)
    {
        try
        {
            if (!await requestStream.MoveNext(context.CancellationToken)) return;
            await Initials.Writer.WriteAsync(requestStream.Current.Initial);
            while (await requestStream.MoveNext(context.CancellationToken)) { }
        }
        catch (Exception) when (context.CancellationToken.IsCancellationRequested) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _app, null) is not { } app) return;
        lock (_gate) _current?.Writer.TryComplete();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await app.StopAsync(cts.Token);
        await app.DisposeAsync();
    }
}

/// <summary>A real scheduler process with clients as an app's sidecar (to schedule directly on it) and as the AppHost (admin).</summary>
public sealed class Replica : IAsyncDisposable
{
    private readonly Dictionary<SpiffeId, GrpcChannel> _channels = [];

    private Replica(SchedulerProcess process) => Process = process;

    public SchedulerProcess Process { get; }
    public string HostAddress => Process.HostAddress;

    public static async Task<Replica> StartAsync() => new(await SchedulerProcess.StartAsync());

    private GrpcChannel ChannelAs(SpiffeId id)
    {
        lock (_channels)
        {
            if (!_channels.TryGetValue(id, out var channel))
                _channels[id] = channel = GrpcChannel.ForAddress(Process.GrpcAddress,
                    new GrpcChannelOptions { HttpHandler = TestIdentity.SchedulerClientHandler(id) });
            return channel;
        }
    }

    /// <summary>Schedules the app's job on this replica itself, as that app's sidecar would.</summary>
    public Task ScheduleAsync(string appId, string name, string? schedule = null, string? due = null)
    {
        var job = new Job();
        if (schedule is not null) job.Schedule = schedule;
        if (due is not null) job.DueTime = due;
        var metadata = new JobMetadata { AppId = appId, Namespace = "default", Target = new JobTargetMetadata { Job = new TargetJob() } };
        return new SchedulerProtocol.Scheduler.SchedulerClient(ChannelAs(TestIdentity.App(appId)))
            .ScheduleJobAsync(new ScheduleJobRequest { Name = name, Job = job, Metadata = metadata }).ResponseAsync;
    }

    /// <summary>
    /// Waits (bounded) until this replica holds the job's due trigger because no sidecar of the app has a stream to it:
    /// the replica's own statement that the stream is gone.
    /// </summary>
    public Task WaitForStagedAsync(string appId, string name, TimeSpan timeout) =>
        Poll.UntilAsync(async () =>
        {
            var jobs = await new SchedulerAdmin.SchedulerAdminClient(ChannelAs(SpiffeId.AppHost()))
                .ListJobStatusesAsync(new ListJobStatusesRequest { AppId = appId });
            return jobs.Jobs.Any(j => j.Name == name && j.Staged);
        }, timeout, $"{appId}/{name} staged by scheduler {HostAddress}");

    public async ValueTask DisposeAsync()
    {
        lock (_channels)
        {
            foreach (var channel in _channels.Values) channel.Dispose();
            _channels.Clear();
        }
        await Process.DisposeAsync();
    }
}

/// <summary>The sidecar learns the scheduler replicas from WatchHosts (spec §5.2) and follows the set as it changes.</summary>
public sealed class SchedulerDiscoveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static async Task<string[]> ConnectedAsync(SidecarProcess sidecar)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var doc = JsonDocument.Parse(await http.GetStringAsync($"{sidecar.HttpEndpoint}/v1.0/metadata"));
        return [.. doc.RootElement.GetProperty("scheduler").GetProperty("connected_addresses").EnumerateArray().Select(a => a.GetString()!).Order()];
    }

    private static Task WaitForConnectedAsync(SidecarProcess sidecar, params string[] addresses) =>
        Poll.UntilAsync(async () => (await ConnectedAsync(sidecar)).SequenceEqual(addresses.Order()), Wait,
            $"the sidecar's job streams to exactly [{string.Join(",", addresses)}]");

    private static async Task<ReceivedHttp> NextJobAsync(HttpTestApp app, string path)
    {
        using var cts = new CancellationTokenSource(Wait);
        try
        {
            while (true)
            {
                var job = await app.Jobs.Reader.ReadAsync(cts.Token);
                if (job.Path == path) return job;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no trigger {path} reached the app within {Wait}");
        }
    }

    // The metadata shows a stream as connected just before the sidecar logs it, and the log reaches the test later
    // still: a count of log lines is read only once the line it must include has arrived.
    private static Task WaitForStreamLogAsync(SidecarProcess sidecar, string address) =>
        sidecar.Process.WaitForOutputAsync(l => IsStreamOpened(l, address), Wait);

    private static int StreamsOpened(SidecarProcess sidecar, string address) =>
        sidecar.Process.Output.Count(l => IsStreamOpened(l, address));

    private static bool IsStreamOpened(string line, string address) =>
        line.Contains($"Connected job stream to scheduler {address}", StringComparison.Ordinal);

    [Fact]
    public async Task Sidecar_follows_the_announced_replica_set_without_a_restart()
    {
        await using var a = await Replica.StartAsync();
        await using var b = await Replica.StartAsync();
        var directory = new DirectoryScheduler();
        await using var _ = directory;
        await directory.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        var appId = Sidecars.UniqueAppId("discover");
        // Configured with the directory alone: every replica it streams to, it learnt from WatchHosts.
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = app.Port,
            SchedulerHostAddress = directory.HostAddress,
        });
        await directory.WatchHostsCalls.NextAsync(Wait, "the sidecar's WatchHosts call");

        directory.Announce(a.HostAddress);
        await WaitForConnectedAsync(sidecar, a.HostAddress);
        // Every second on A: delivered while the sidecar streams to A, staged by A once it does not.
        await a.ScheduleAsync(appId, "on-a", schedule: "@every 1s");
        await NextJobAsync(app, "/job/on-a");

        directory.Announce(a.HostAddress, b.HostAddress);
        await b.ScheduleAsync(appId, "on-b", due: Now());
        await NextJobAsync(app, "/job/on-b");
        await WaitForConnectedAsync(sidecar, a.HostAddress, b.HostAddress);

        directory.Announce(b.HostAddress);
        await a.WaitForStagedAsync(appId, "on-a", Wait);
        await WaitForConnectedAsync(sidecar, b.HostAddress);
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("Scheduler hosts changed", StringComparison.Ordinal)
            && l.Contains($"now [{b.HostAddress}]", StringComparison.Ordinal), Wait);
        // B still serves the app, and unary calls through the sidecar reach B (the set's only replica).
        await b.ScheduleAsync(appId, "on-b-again", due: Now());
        await NextJobAsync(app, "/job/on-b-again");
        using var http = sidecar.HttpClient();
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("via-sidecar", $$"""{"dueTime":"{{Now()}}"}""")).StatusCode);
        await NextJobAsync(app, "/job/via-sidecar");
    }

    [Fact]
    public async Task The_same_set_again_reconnects_nothing_even_when_WatchHosts_is_reopened()
    {
        await using var a = await Replica.StartAsync();
        await using var b = await Replica.StartAsync();
        var directory = new DirectoryScheduler();
        await using var _ = directory;
        await directory.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        var appId = Sidecars.UniqueAppId("same-set");
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = app.Port,
            SchedulerHostAddress = directory.HostAddress,
        });
        await directory.WatchHostsCalls.NextAsync(Wait, "the sidecar's WatchHosts call");
        directory.Announce(a.HostAddress);
        await WaitForConnectedAsync(sidecar, a.HostAddress);
        await WaitForStreamLogAsync(sidecar, a.HostAddress);
        Assert.Equal(1, StreamsOpened(sidecar, a.HostAddress));

        // The same set on the same stream, then the stream ends: the sidecar keeps its streams, re-opens WatchHosts on
        // the next configured address (the directory again, which starts with the same set once more), and only then
        // hears [A, B].
        directory.Announce(a.HostAddress);
        directory.EndWatch();
        await directory.WatchHostsCalls.NextAsync(Wait, "WatchHosts re-opened on the directory");
        directory.Announce(a.HostAddress, b.HostAddress);
        await WaitForConnectedAsync(sidecar, a.HostAddress, b.HostAddress);
        await WaitForStreamLogAsync(sidecar, b.HostAddress);

        // Everything before [A, B] was read in order, so the count is final for those messages.
        Assert.Equal(1, StreamsOpened(sidecar, a.HostAddress));
        await a.ScheduleAsync(appId, "still-on-a", due: Now());
        await NextJobAsync(app, "/job/still-on-a");
    }

    [Fact]
    public async Task When_the_configured_scheduler_is_gone_WatchHosts_is_reopened_on_a_known_replica_and_the_streams_stay()
    {
        await using var a = await Replica.StartAsync();
        var configured = new DirectoryScheduler();
        await using var _ = configured;
        await configured.StartAsync();
        var known = new DirectoryScheduler();
        await using var __ = known;
        await known.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        var appId = Sidecars.UniqueAppId("known-replica");
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = app.Port,
            SchedulerHostAddress = configured.HostAddress,
        });
        await configured.WatchHostsCalls.NextAsync(Wait, "the sidecar's WatchHosts call");
        configured.Announce(known.HostAddress);
        Assert.Equal(appId, (await known.Initials.NextAsync(Wait, "a job stream to the announced replica")).AppId);

        // The only configured address goes away: the sidecar keeps its set and asks the replica it knows.
        await configured.DisposeAsync();
        await known.WatchHostsCalls.NextAsync(Wait, "WatchHosts re-opened on the known replica");
        known.Announce(known.HostAddress, a.HostAddress);
        await WaitForConnectedAsync(sidecar, known.HostAddress, a.HostAddress);
        await a.ScheduleAsync(appId, "on-a", due: Now());
        await NextJobAsync(app, "/job/on-a");
        // The stream to the known replica was never closed: it announced itself once.
        Assert.False(known.Initials.Reader.TryRead(out var again), $"the sidecar reopened its job stream ({again?.AppId}) to a replica that stayed in the set");
    }

    [Fact]
    public async Task A_scheduler_without_WatchHosts_leaves_the_configured_hosts_in_use()
    {
        await using var a = await Replica.StartAsync();
        var old = new DirectoryScheduler(unimplemented: true);
        await using var _ = old;
        await old.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        var appId = Sidecars.UniqueAppId("no-watch-hosts");
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = app.Port,
            SchedulerHostAddress = $"{old.HostAddress},{a.HostAddress}",
        });

        // The sidecar asked, heard UNIMPLEMENTED, and streams to both configured hosts.
        await old.WatchHostsCalls.NextAsync(Wait, "the sidecar's WatchHosts call");
        Assert.Equal(appId, (await old.Initials.NextAsync(Wait, "a job stream to the configured 1.14 scheduler")).AppId);
        await WaitForConnectedAsync(sidecar, old.HostAddress, a.HostAddress);
        await a.ScheduleAsync(appId, "on-a", due: Now());
        await NextJobAsync(app, "/job/on-a");
        await sidecar.Process.WaitForOutputAsync(l => l.Contains($"Scheduler {old.HostAddress} does not implement WatchHosts", StringComparison.Ordinal), Wait);
    }
}
