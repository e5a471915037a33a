using System.Net;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.SchedulerProtocol;
using Platform.Security;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// An in-process stand-in for the scheduler's WatchJobs side only, so the sidecar's half of the stream protocol
/// (initial message, acks per trigger id, outcome mapping, reconnect) can be checked precisely.
/// </summary>
public sealed class FakeScheduler(SpiffeId? identity = null) : SchedulerProtocol.Scheduler.SchedulerBase, IAsyncDisposable
{
    private WebApplication? _app;
    public int Port { get; } = FreePort.Next();
    public Channel<WatchJobsRequestInitial> Initials { get; } = Channel.CreateUnbounded<WatchJobsRequestInitial>();
    public Channel<WatchJobsRequestResult> Results { get; } = Channel.CreateUnbounded<WatchJobsRequestResult>();
    private Channel<WatchJobsResponse> _triggers = Channel.CreateUnbounded<WatchJobsResponse>();
    private TaskCompletionSource _streamBroken = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        // The scheduler's identity (or another, to play an impostor) from the tests' authority: sidecars speak mTLS to it.
        var served = TestIdentity.Identity(identity ?? SpiffeId.Scheduler());
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            l.UseMtls(served);
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        _app = builder.Build();
        _app.MapGrpcService<FakeScheduler>();
        await _app.StartAsync();
    }

    public void Trigger(WatchJobsResponse trigger) => _triggers.Writer.TryWrite(trigger);

    /// <summary>Ends the current stream from the server side, as a scheduler restart would.</summary>
    public void BreakStream() => _streamBroken.TrySetResult();

    public override async Task WatchJobs(IAsyncStreamReader<WatchJobsRequest> requestStream, IServerStreamWriter<WatchJobsResponse> responseStream, ServerCallContext context)
    {
        var broken = _streamBroken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Ends this stream's readers when the handler returns, so a later stream gets the later triggers.
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        if (!await requestStream.MoveNext(done.Token)) return;
        await Initials.Writer.WriteAsync(requestStream.Current.Initial);
        var reader = Task.Run(async () =>
        {
            while (await requestStream.MoveNext(done.Token))
                await Results.Writer.WriteAsync(requestStream.Current.Result);
        });
        var sender = Task.Run(async () =>
        {
            while (await _triggers.Reader.WaitToReadAsync(done.Token))
                if (!done.IsCancellationRequested && _triggers.Reader.TryRead(out var t)) await responseStream.WriteAsync(t);
        });
        await Task.WhenAny(reader, sender, broken.Task);
        await done.CancelAsync();
        try { await Task.WhenAll(reader, sender); } catch (Exception) { /* ended with the stream */ }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

public sealed class FakeSchedulerStreamTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Sidecar_announces_itself_acks_each_trigger_by_outcome_and_reconnects()
    {
        var fake = new FakeScheduler();
        await using var _ = fake;
        await fake.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        app.Respond = r => Task.FromResult(r.Path switch { "/job/missing" => 404, "/job/broken" => 500, _ => 200 });
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("fake-app")
        {
            AppPort = app.Port,
            SchedulerHostAddress = $"127.0.0.1:{fake.Port}",
            Environment = new Dictionary<string, string?> { ["NAMESPACE"] = "ns1" },
        });

        var initial = await fake.Initials.NextAsync(Wait, "initial");
        Assert.Equal(("fake-app", "ns1"), (initial.AppId, initial.Namespace));
        Assert.Equal([JobTargetType.Job], initial.AcceptJobTypes);

        fake.Trigger(new WatchJobsResponse { Id = 1, Name = "ok", Data = Any.Pack(Value.ForString("x")),
            TraceContext = { ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
        fake.Trigger(new WatchJobsResponse { Id = 2, Name = "missing" });
        fake.Trigger(new WatchJobsResponse { Id = 3, Name = "broken" });
        var results = new Dictionary<ulong, WatchJobsRequestResultStatus>();
        while (results.Count < 3)
        {
            var r = await fake.Results.NextAsync(Wait, "result");
            results[r.Id] = r.Status;
        }
        Assert.Equal(WatchJobsRequestResultStatus.Success, results[1]);
        Assert.Equal(WatchJobsRequestResultStatus.Success, results[2]); // 404 is not retried
        Assert.Equal(WatchJobsRequestResultStatus.Failed, results[3]);

        var delivered = new List<ReceivedHttp>();
        for (var i = 0; i < 3; i++) delivered.Add(await app.Jobs.NextAsync(Wait, "delivery"));
        var ok = delivered.Single(d => d.Path == "/job/ok");
        Assert.Equal("\"x\"", ok.BodyText);
        // The delivery continues the scheduler's trace.
        Assert.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", ok.Headers["traceparent"]);

        // A stream the scheduler ends is reopened with a fresh initial message.
        fake.BreakStream();
        var again = await fake.Initials.NextAsync(Wait, "initial after reconnect");
        Assert.Equal("fake-app", again.AppId);
        fake.Trigger(new WatchJobsResponse { Id = 1, Name = "after" });
        var after = await fake.Results.NextAsync(Wait, "result after reconnect");
        Assert.Equal((1ul, WatchJobsRequestResultStatus.Success), (after.Id, after.Status));
    }

    [Fact]
    public async Task Without_an_app_port_triggers_are_accepted_and_failed()
    {
        var fake = new FakeScheduler();
        await using var _ = fake;
        await fake.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("no-app") { SchedulerHostAddress = $"127.0.0.1:{fake.Port}" });
        await fake.Initials.NextAsync(Wait, "initial");
        fake.Trigger(new WatchJobsResponse { Id = 7, Name = "j" });
        var result = await fake.Results.NextAsync(Wait, "result");
        Assert.Equal((7ul, WatchJobsRequestResultStatus.Failed), (result.Id, result.Status));
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("received job, but app channel not initialized"), Wait);
    }
}
