using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace Platform.Jobs.Tests;

/// <summary>
/// A minimal h2c gRPC endpoint on loopback that records every call (path, headers, request bytes) and answers each
/// method with a scripted reply: a message, or a non-OK status. Enough to see what the real client sends on the wire.
/// </summary>
internal sealed class FakeSidecarGrpc : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<(IMessage? Reply, int Status, string Detail)>> _replies = new();

    public sealed record Call(string Method, IReadOnlyDictionary<string, string> Headers, byte[] Request);

    public ConcurrentQueue<Call> Calls { get; } = new();
    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";

    private FakeSidecarGrpc(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public static async Task<FakeSidecarGrpc> StartAsync()
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        var fake = new FakeSidecarGrpc(app, port);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        return fake;
    }

    /// <summary>Answers <c>dapr.proto.runtime.v1.Dapr/{method}</c> with the message.</summary>
    public void Reply(string method, IMessage reply) => _replies[method] = () => (reply, 0, "");

    /// <summary>Answers <c>dapr.proto.runtime.v1.Dapr/{method}</c> with a gRPC error status.</summary>
    public void Fail(string method, Grpc.Core.StatusCode status, string detail) => _replies[method] = () => (null, (int)status, detail);

    private async Task HandleAsync(HttpContext context)
    {
        var method = context.Request.Path.Value!.Split('/').Last();
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var frame = buffer.ToArray();
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        Calls.Enqueue(new Call(method, headers, frame.Length >= 5 ? frame[5..] : []));

        context.Response.ContentType = "application/grpc";
        var (reply, status, detail) = _replies.TryGetValue(method, out var script) ? script() : (null, 12, "unknown method " + method);
        if (reply is not null)
        {
            var bytes = reply.ToByteArray();
            var header = new byte[5];
            header[1] = (byte)(bytes.Length >> 24); header[2] = (byte)(bytes.Length >> 16); header[3] = (byte)(bytes.Length >> 8); header[4] = (byte)bytes.Length;
            await context.Response.Body.WriteAsync(header);
            await context.Response.Body.WriteAsync(bytes);
        }
        context.Response.AppendTrailer("grpc-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (detail.Length > 0) context.Response.AppendTrailer("grpc-message", Uri.EscapeDataString(detail));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
