using System.Collections.Concurrent;
using System.Net;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Platform.Scheduler.Tests.Leadership;

/// <summary>What one keep-alive stream of <see cref="ScriptedEtcdLease"/> does with the renewals sent on it.</summary>
public enum StreamScript
{
    /// <summary>Answers every renewal, as a healthy member does.</summary>
    Answer,
    /// <summary>Answers the first renewal, then drops the connection at the next, as a member killed under it does.</summary>
    AnswerOnceThenDrop,
    /// <summary>Reads the renewals and answers none, as a member stopped or waiting out an election does.</summary>
    Hang,
}

/// <summary>
/// etcd's Lease service, keep-alive only, on loopback: each new stream follows the next script in the list (the last
/// one repeats), and every answered renewal is recorded with when the server took it, which is when etcd would restart
/// the lease's time to live.
/// </summary>
[BindServiceMethod(typeof(ScriptedEtcdLease), nameof(BindService))]
public class ScriptedEtcdLease(IReadOnlyList<StreamScript> scripts, long ttlSeconds) : IAsyncDisposable
{
    private static readonly Method<LeaseKeepAliveRequest, LeaseKeepAliveResponse> KeepAlive = new(
        MethodType.DuplexStreaming, Lease.Descriptor.FullName, "LeaseKeepAlive",
        Marshallers.Create<LeaseKeepAliveRequest>(r => r.ToByteArray(), LeaseKeepAliveRequest.Parser.ParseFrom),
        Marshallers.Create<LeaseKeepAliveResponse>(r => r.ToByteArray(), LeaseKeepAliveResponse.Parser.ParseFrom));

    private WebApplication? _app;
    private int _streams;

    /// <summary>Renewals answered: the stream's index and when the server took the renewal.</summary>
    public ConcurrentQueue<(int Stream, DateTimeOffset At)> Answered { get; } = new();

    public Uri Endpoint { get; private set; } = null!;

    public static void BindService(ServiceBinderBase binder, ScriptedEtcdLease? service) =>
        binder.AddMethod(KeepAlive, service is null ? null : new DuplexStreamingServerMethod<LeaseKeepAliveRequest, LeaseKeepAliveResponse>(service.LeaseKeepAlive));

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        _app = builder.Build();
        _app.MapGrpcService<ScriptedEtcdLease>();
        await _app.StartAsync();
        Endpoint = new Uri(_app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
    }

    // Virtual because gRPC's binder takes only a method that the type named by BindServiceMethod declares as one.
    public virtual async Task LeaseKeepAlive(IAsyncStreamReader<LeaseKeepAliveRequest> requests, IServerStreamWriter<LeaseKeepAliveResponse> responses,
        ServerCallContext context)
    {
        var stream = Interlocked.Increment(ref _streams) - 1;
        var script = scripts[Math.Min(stream, scripts.Count - 1)];
        var taken = 0;
        while (await requests.MoveNext(context.CancellationToken))
        {
            if (script == StreamScript.Hang) continue;
            if (script == StreamScript.AnswerOnceThenDrop && taken == 1)
            {
                context.GetHttpContext().Abort();
                return;
            }
            taken++;
            Answered.Enqueue((stream, DateTimeOffset.UtcNow));
            await responses.WriteAsync(new LeaseKeepAliveResponse { ID = requests.Current.ID, TTL = ttlSeconds });
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
