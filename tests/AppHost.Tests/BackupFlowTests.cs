using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// One app, the how-to's job every 2 s and two worker replicas, shared by the tests of the collection: each looks at
/// its own schedule, or only reads.
/// </summary>
public sealed class DemoAppFixture : IAsyncLifetime
{
    public RunningApp Running { get; private set; } = null!;

    public async Task InitializeAsync()
        // Repeats enough for the how-to's job to outlive every test of the collection, in whatever order they run.
        => Running = await RunningApp.StartAsync(["--Demo:Schedule=@every 2s", $"--Demo:Repeats={DemoRepeats}", "--Demo:KeepLast=100", "--AppHost:WorkerReplicas=2"]);

    public const int DemoRepeats = 1000;

    public async Task DisposeAsync() => await Running.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class DemoAppCollection : ICollectionFixture<DemoAppFixture>
{
    public const string Name = "demo app";
}

[Collection(DemoAppCollection.Name)]
public sealed class BackupFlowTests(DemoAppFixture fixture)
{
    private static readonly TimeSpan TriggerTimeout = TimeSpan.FromSeconds(60);
    private RunningApp App => fixture.Running;

    [Fact]
    public async Task The_how_to_job_produces_verified_backups()
    {
        using var http = App.CreateHttpClient("backupapi");
        var backups = await Poll.UntilAsync(async () =>
        {
            var list = await http.GetJsonAsync("/backups?schedule=prod-db-backup");
            return list.GetArrayLength() >= 2 ? list : (JsonElement?)null;
        }, TriggerTimeout, "two backups of prod-db-backup");

        foreach (var backup in backups.EnumerateArray().Take(2))
        {
            Assert.Equal("prod-db-backup", backup.GetProperty("schedule").GetString());
            Assert.Equal("my-prod-db", backup.GetProperty("database").GetString());
            Assert.Equal("job", backup.GetProperty("trigger").GetString());
            BackupAssertions.AssertVerifiedSqliteBackup(backup, App.DataDirectory);
        }

        var schedule = await http.GetJsonAsync("/schedules/prod-db-backup");
        Assert.Equal("@every 2s", schedule.GetProperty("schedule").GetString());
        Assert.Equal("@every 2s", schedule.GetProperty("job").GetProperty("schedule").GetString());
    }

    [Fact]
    public async Task A_schedule_created_through_BackupApi_triggers_on_the_worker()
    {
        using var http = App.CreateHttpClient("backupapi");
        var create = await http.PostAsJsonAsync("/schedules", new
        {
            name = "api-made",
            database = "my-prod-db",
            location = "backups/api-made",
            schedule = "@every 1s",
            repeats = 3,
        });
        Assert.True(create.StatusCode == HttpStatusCode.Created, await create.Content.ReadAsStringAsync());

        var run = await Poll.UntilAsync(async () =>
        {
            var runs = await http.GetJsonAsync("/runs?schedule=api-made");
            return runs.EnumerateArray().Where(r => r.GetProperty("outcome").GetString() == "Succeeded")
                .Select(r => (JsonElement?)r).FirstOrDefault();
        }, TriggerTimeout, "a succeeded run of api-made");

        Assert.Equal("job", run.GetProperty("trigger").GetString());
        BackupAssertions.AssertVerifiedSqliteBackup(run, App.DataDirectory);
        Assert.StartsWith(Path.Combine(App.DataDirectory, "backupworker", "backups", "api-made"), run.GetProperty("file").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sidecars_are_nested_under_their_apps_and_healthy()
    {
        foreach (var app in new[] { "backupworker", "backupworker-2", "backupapi" })
        {
            Assert.True(App.Notifications.TryGetCurrentState(app, out var parent));
            Assert.True(App.Notifications.TryGetCurrentState($"{app}-dapr", out var sidecar));
            Assert.Equal(KnownResourceStates.Running, sidecar.Snapshot.State?.Text);
            Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, sidecar.Snapshot.HealthStatus);
            // The dashboard nests a resource under the one its parentName property names (the parent's resource id).
            Assert.Equal(parent.ResourceId, sidecar.Snapshot.Properties.Single(p => p.Name == "resource.parentName").Value);
        }
        Assert.True(App.Notifications.TryGetCurrentState("scheduler", out var scheduler));
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, scheduler.Snapshot.HealthStatus);
    }

    [Fact]
    public async Task Worker_replicas_share_one_app_id_and_each_takes_triggers()
    {
        var logs = App.App.Services.GetRequiredService<ResourceLoggerService>();
        var model = App.App.Services.GetRequiredService<DistributedApplicationModel>();
        using var cts = new CancellationTokenSource(TriggerTimeout);
        await Task.WhenAll(new[] { "backupworker", "backupworker-2" }.Select(async replica =>
        {
            // The resource, not its name: a project's log stream is kept under its DCP instance id.
            await foreach (var batch in logs.WatchAsync(model.Resources.Single(r => r.Name == replica)).WithCancellation(cts.Token))
                if (batch.Any(line => line.Content.Contains("of schedule prod-db-backup succeeded", StringComparison.Ordinal))) return;
        }));
        Assert.False(cts.IsCancellationRequested, "both replicas ran a backup of the how-to's job");
    }

    [Fact]
    public async Task The_run_has_its_own_api_tokens_and_keys_and_only_health_answers_without_them()
    {
        var daprToken = await App.ParameterValueAsync(Platform.Hosting.Dapr.DaprHostingExtensions.DaprApiTokenParameter);
        var appToken = await App.ParameterValueAsync(Platform.Hosting.Dapr.DaprHostingExtensions.AppApiTokenParameter);
        Assert.Matches("^[0-9a-f]{64}$", daprToken);
        Assert.Matches("^[0-9a-f]{64}$", appToken);
        Assert.NotEqual(daprToken, appToken);

        using var sidecar = App.App.CreateHttpClient("backupworker-dapr", "http");
        Assert.Equal(HttpStatusCode.NoContent, (await sidecar.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await sidecar.GetAsync("/v1.0/metadata")).StatusCode);
        using (var withToken = new HttpRequestMessage(HttpMethod.Get, "/v1.0/metadata"))
        {
            withToken.Headers.Add("dapr-api-token", daprToken);
            Assert.Equal(HttpStatusCode.OK, (await sidecar.SendAsync(withToken)).StatusCode);
        }

        // BackupApi takes the operators' key, which the AppHost gives it from the secret parameter backupapi-key.
        using var anonymous = App.App.CreateHttpClient("backupapi");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/schedules")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);

        // The worker takes calls only from its sidecar, which brings the app token.
        using var worker = App.CreateHttpClient("backupworker");
        Assert.Equal(HttpStatusCode.OK, (await worker.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await worker.GetAsync("/schedules")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await worker.PostAsync("/job/prod-db-backup", new StringContent("{}"))).StatusCode);
    }
}
