using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace Platform.Dashboard.Tests;

/// <summary>
/// A stand-in for the AppHost resource service (contract in COMMON.md), in-process on a free port:
/// resources, console lines, and the commands it received.
/// </summary>
public sealed class FakeResourceService : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Resource> _resources = new();
    private readonly ConcurrentQueue<(string Resource, long Seq, string Text, bool IsError)> _lines = new();
    private long _seq;

    public sealed record Resource(string Name, string Type, string State, string? Health, int Restarts, string[] Urls);

    public ConcurrentQueue<(string Resource, string Command)> Commands { get; } = new();
    public string Url { get; }
    public string? ApiKey { get; }

    private FakeResourceService(WebApplication app, string url, string? apiKey)
    {
        _app = app;
        Url = url;
        ApiKey = apiKey;
    }

    public static async Task<FakeResourceService> StartAsync(string? apiKey = "resource-key")
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var service = new FakeResourceService(app, $"http://127.0.0.1:{port}", apiKey);
        app.Use(async (ctx, next) =>
        {
            if (apiKey is not null && ctx.Request.Headers["x-resource-service-api-key"] != apiKey) { ctx.Response.StatusCode = 401; return; }
            await next(ctx);
        });
        app.MapGet("/api/resources", () => service._resources.Values.OrderBy(r => r.Name).Select(r => new
        {
            name = r.Name, type = r.Type, state = r.State, health = r.Health, pid = 1234, restarts = r.Restarts,
            startTime = "2026-01-01T10:00:00Z", exitCode = (int?)null, parent = (string?)null,
            endpoints = r.Urls.Select((u, i) => new { name = i == 0 ? "http" : "grpc", url = u }),
            environment = new[] { new { name = "OTEL_SERVICE_NAME", value = r.Name }, new { name = "OTEL_EXPORTER_OTLP_HEADERS", value = "x-otlp-api-key=very-secret" } },
        }));
        app.MapGet("/api/resources/{name}/logs", (string name, long? after) =>
            service._resources.ContainsKey(name)
                ? Results.Ok(service._lines.Where(l => l.Resource == name && l.Seq > (after ?? 0)).Take(1000)
                    .Select(l => new { seq = l.Seq, timestamp = "2026-01-01T10:00:01Z", isError = l.IsError, text = l.Text }))
                : Results.NotFound());
        app.MapPost("/api/resources/{name}/commands/{command}", (string name, string command) =>
        {
            if (!service._resources.TryGetValue(name, out var r)) return Results.NotFound();
            service.Commands.Enqueue((name, command));
            if (command == "stop") service._resources[name] = r with { State = "Exited", Health = null };
            return Results.Accepted();
        });
        await app.StartAsync();
        return service;
    }

    public void Set(Resource resource) => _resources[resource.Name] = resource;

    public void AddLine(string resource, string text, bool isError = false) =>
        _lines.Enqueue((resource, Interlocked.Increment(ref _seq), text, isError));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
