using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Jobs.Extensions;
using TestSupport;

namespace Platform.Jobs.Tests;

public class JobHandlerEndpointTests
{
    private sealed class Marker;

    private static async Task<(WebApplication App, HttpClient Http)> StartAsync(Action<WebApplication> map)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddSingleton(new Marker());
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) });
    }

    [Fact]
    public async Task Binds_name_payload_token_and_services_and_answers_200()
    {
        var seen = new TaskCompletionSource<(string, string, bool, bool)>();
        var (app, http) = await StartAsync(a => a.MapDaprScheduledJobHandler(
            (string jobName, ReadOnlyMemory<byte> payload, Marker? marker, CancellationToken ct) =>
                seen.TrySetResult((jobName, Encoding.UTF8.GetString(payload.Span), marker is not null, ct.CanBeCanceled)), TimeSpan.FromSeconds(5)));
        await using var _ = app;

        var response = await http.PostAsync("/job/prod-db-backup", new StringContent("{\"task\":\"db-backup\"}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (name, body, hasService, cancellable) = await seen.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("prod-db-backup", name);
        Assert.Equal("{\"task\":\"db-backup\"}", body);
        Assert.True(hasService);
        Assert.True(cancellable);
    }

    [Fact]
    public async Task Thrown_exception_answers_500_and_returned_result_is_the_answer()
    {
        var (app, http) = await StartAsync(a => a.MapDaprScheduledJobHandler(async (string jobName) =>
        {
            await Task.Yield();
            if (jobName == "boom") throw new InvalidOperationException("fails");
            return jobName == "nope" ? Results.StatusCode(503) : Results.NoContent();
        }));
        await using var _ = app;

        Assert.Equal(HttpStatusCode.InternalServerError, (await http.PostAsync("/job/boom", null)).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.PostAsync("/job/nope", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("/job/fine", null)).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.GetAsync("/job/fine")).StatusCode);
    }
}
