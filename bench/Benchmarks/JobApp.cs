using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace Benchmarks;

/// <summary>The app under the sidecar: answers <c>POST /job/{name}</c> with 200 and reports each delivery.</summary>
public sealed class JobApp : IAsyncDisposable
{
    private WebApplication _app = null!;
    public int Port { get; private set; }
    public Action<string, DateTimeOffset> OnJob { get; set; } = static (_, _) => { };

    public static async Task<JobApp> StartAsync()
    {
        var jobApp = new JobApp { Port = FreePort.Next() };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, jobApp.Port, l => l.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        app.MapPost("/job/{name}", (string name) =>
        {
            jobApp.OnJob(name, DateTimeOffset.UtcNow);
            return TypedResults.Ok();
        });
        await app.StartAsync();
        jobApp._app = app;
        return jobApp;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
