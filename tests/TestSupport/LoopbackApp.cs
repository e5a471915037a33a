using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace TestSupport;

/// <summary>
/// A small ASP.NET Core app on a free 127.0.0.1 port, for a test that needs something to answer HTTP in place of a
/// real peer (a sidecar's invocation route, an app receiving triggers, an OTLP collector). The caller maps its routes
/// before it starts; its own logs are off, so a test's output is the code under test's. Disposing stops it.
/// </summary>
public sealed class LoopbackApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackApp(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary><c>http://127.0.0.1:&lt;port&gt;</c>, without a trailing slash.</summary>
    public string Address => $"http://127.0.0.1:{Port}";

    public static async Task<LoopbackApp> StartAsync(Action<WebApplication> map)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        try
        {
            map(app);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new LoopbackApp(app, port);
    }

    /// <summary>Stops answering (connections are refused), for a test of what its peer being down looks like.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
