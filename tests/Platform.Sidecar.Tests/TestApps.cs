using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace Platform.Sidecar.Tests;

public sealed record ReceivedHttp(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// A tiny HTTP app beside a sidecar: records every <c>POST /job/{name}</c> (answering <see cref="Respond"/>), and
/// echoes any other request as JSON (method, path, query, headers, body) for service-invocation tests.
/// </summary>
public sealed class HttpTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    public Channel<ReceivedHttp> Jobs { get; } = Channel.CreateUnbounded<ReceivedHttp>();
    public Channel<ReceivedHttp> Other { get; } = Channel.CreateUnbounded<ReceivedHttp>();
    /// <summary>How to answer a job trigger (status code); may block to keep a trigger in flight.</summary>
    public Func<ReceivedHttp, Task<int>> Respond { get; set; } = _ => Task.FromResult(200);
    /// <summary>The status <c>GET /healthz</c> answers (the sidecar's app health probe); flip it to make the app unhealthy.</summary>
    public int HealthzStatus { get; set; } = 200;
    public int Port { get; }

    private HttpTestApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public static async Task<HttpTestApp> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var test = new HttpTestApp(app, port);
        app.Run(async context =>
        {
            if (context.Request.Method == "GET" && context.Request.Path == "/healthz")
            {
                context.Response.StatusCode = test.HealthzStatus;
                return;
            }
            var received = await ReadAsync(context);
            if (context.Request.Method == "POST" && context.Request.Path.StartsWithSegments("/job"))
            {
                await test.Jobs.Writer.WriteAsync(received);
                context.Response.StatusCode = await test.Respond(received);
                return;
            }
            await test.Other.Writer.WriteAsync(received);
            context.Response.StatusCode = context.Request.Headers.TryGetValue("x-status", out var s) ? int.Parse(s!) : 200;
            context.Response.Headers["x-echo"] = "yes";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(JsonSerializer.Serialize(new
            {
                method = received.Method, path = received.Path, query = received.Query, body = received.BodyText,
            }));
        });
        await app.StartAsync();
        return test;
    }

    private static async Task<ReceivedHttp> ReadAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        return new ReceivedHttp(context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", headers, buffer.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

public sealed record ReceivedJobEvent(string Service, JobEventRequest Request, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// A tiny gRPC app beside a sidecar: implements <c>AppCallback.OnJobEvent</c>, or only the Alpha1 callback when
/// <c>alphaOnly</c> (so the sidecar's fallback is exercised); records every JobEventRequest with its metadata.
/// With <c>healthCheck</c> it also serves <c>AppCallbackHealthCheck/HealthCheck</c>, answering OK while <see cref="Healthy"/>.
/// A job event for which <see cref="Succeeds"/> is false is answered with an INTERNAL error, as a failing handler would.
/// </summary>
public sealed class GrpcTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HealthSwitch _health;
    public Channel<ReceivedJobEvent> Jobs { get; } = Channel.CreateUnbounded<ReceivedJobEvent>();
    public bool Healthy { get => _health.Healthy; set => _health.Healthy = value; }
    public Func<JobEventRequest, bool> Succeeds { get => _health.Succeeds; set => _health.Succeeds = value; }
    public int Port { get; }

    private GrpcTestApp(WebApplication app, int port, HealthSwitch health)
    {
        _app = app;
        Port = port;
        _health = health;
    }

    private sealed class HealthSwitch
    {
        public volatile bool Healthy = true;
        public volatile Func<JobEventRequest, bool> Succeeds = _ => true;
    }

    public static async Task<GrpcTestApp> StartAsync(bool alphaOnly = false, bool healthCheck = false)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        var jobs = Channel.CreateUnbounded<ReceivedJobEvent>();
        builder.Services.AddSingleton(jobs);
        var health = new HealthSwitch();
        builder.Services.AddSingleton(health);
        var app = builder.Build();
        if (!alphaOnly) app.MapGrpcService<StableCallback>();
        app.MapGrpcService<AlphaCallback>();
        if (healthCheck) app.MapGrpcService<HealthCallback>();
        await app.StartAsync();
        var test = new GrpcTestApp(app, port, health);
        _ = Task.Run(async () =>
        {
            await foreach (var e in jobs.Reader.ReadAllAsync()) await test.Jobs.Writer.WriteAsync(e);
        });
        return test;
    }

    private static IReadOnlyDictionary<string, string> Headers(ServerCallContext context) =>
        context.RequestHeaders.Where(h => !h.IsBinary).GroupBy(h => h.Key).ToDictionary(g => g.Key, g => g.First().Value);

    private sealed class StableCallback(Channel<ReceivedJobEvent> jobs, HealthSwitch behaviour) : AppCallback.AppCallbackBase
    {
        public override async Task<JobEventResponse> OnJobEvent(JobEventRequest request, ServerCallContext context)
        {
            await jobs.Writer.WriteAsync(new ReceivedJobEvent("AppCallback", request, Headers(context)));
            return behaviour.Succeeds(request) ? new JobEventResponse() : throw new RpcException(new Status(StatusCode.Internal, "handler failed"));
        }
    }

    private sealed class HealthCallback(HealthSwitch health) : AppCallbackHealthCheck.AppCallbackHealthCheckBase
    {
        public override Task<HealthCheckResponse> HealthCheck(Google.Protobuf.WellKnownTypes.Empty request, ServerCallContext context) =>
            health.Healthy ? Task.FromResult(new HealthCheckResponse()) : throw new RpcException(new Status(StatusCode.Unavailable, "unhealthy"));
    }

    private sealed class AlphaCallback(Channel<ReceivedJobEvent> jobs) : AppCallbackAlpha.AppCallbackAlphaBase
    {
        public override async Task<JobEventResponse> OnJobEventAlpha1(JobEventRequest request, ServerCallContext context)
        {
            await jobs.Writer.WriteAsync(new ReceivedJobEvent("AppCallbackAlpha", request, Headers(context)));
            return new JobEventResponse();
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}

public static class ChannelWaits
{
    /// <summary>The next item, or a TimeoutException naming what was awaited.</summary>
    public static async Task<T> NextAsync<T>(this Channel<T> channel, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await channel.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{what} not received within {timeout}");
        }
    }
}
