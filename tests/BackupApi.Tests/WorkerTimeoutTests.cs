using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TestSupport;

namespace BackupApi.Tests;

/// <summary>
/// A worker that does not answer within BackupApi's timeout towards it: the operator gets a 504 problem that says the
/// request may still complete on the worker (a restore may have started), never a blind 500 that invites a retry.
/// </summary>
public sealed class WorkerTimeoutTests : IAsyncLifetime
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LoopbackApp? _sidecar;
    private BackupApiProcess? _api;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        // The stand-in sidecar holds every call until the test ends, as a worker busy past the timeout would.
        _sidecar = await LoopbackApp.StartAsync(app => app.Map("/{**path}", async (HttpContext context) =>
        {
            await _release.Task.WaitAsync(TimeSpan.FromSeconds(60));
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        }));
        _api = await BackupApiProcess.StartAsync(_sidecar.Port, new Dictionary<string, string?> { ["BackupApi__WorkerTimeout"] = "00:00:02" });
        _http = _api.Http;
    }

    public async Task DisposeAsync()
    {
        _release.TrySetResult();
        if (_api is not null) await _api.DisposeAsync();
        if (_sidecar is not null) await _sidecar.DisposeAsync();
    }

    [Fact]
    public async Task A_worker_silent_past_the_timeout_is_a_504_problem_that_says_the_request_may_still_complete()
    {
        using var restore = await _http.PostAsJsonAsync("/restores", new { backupId = new string('a', 32), target = "restored.db" });
        using var run = await _http.PostAsync("/schedules/nightly/run", null);

        foreach (var response in new[] { restore, run })
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("BackupWorker did not answer in time", problem.GetProperty("title").GetString());
            Assert.Contains("may still complete", problem.GetProperty("detail").GetString());
        }
    }
}
