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
            location = "api-made",
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
        var daprToken = await App.ParameterValueAsync(Platform.Hosting.Dapr.DaprHostingExtensions.DaprApiTokenParameterFor("backupworker"));
        var appToken = await App.ParameterValueAsync(Platform.Hosting.Dapr.DaprHostingExtensions.AppApiTokenParameterFor("backupworker"));
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

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_apphost_issues_each_sidecar_its_own_certificate_and_the_scheduler_serves_no_one_without_one()
    {
        var sidecars = new[] { ("backupapi-dapr", "backupapi"), ("backupworker-dapr", "backupworker"), ("backupworker-2-dapr", "backupworker") };
        var keys = new HashSet<string>();
        var certificates = new HashSet<string>();
        string? directory = null;
        foreach (var (resource, appId) in sidecars.Append(("scheduler", Platform.Security.SpiffeId.SchedulerAppId)))
        {
            var args = (await File.ReadAllTextAsync($"/proc/{App.ProcessIdOf(resource)}/cmdline")).Split('\0');
            string Flag(string name) => args[Array.IndexOf(args, name) + 1];
            if (resource != "scheduler") Assert.Contains("--enable-mtls", args);
            var (anchors, chain, key) = (Flag("--trust-anchors-file"), Flag("--cert-chain-file"), Flag("--cert-key-file"));
            using var identity = Platform.Security.WorkloadIdentity.FromPem(await File.ReadAllTextAsync(anchors), await File.ReadAllTextAsync(chain), await File.ReadAllTextAsync(key));
            var expected = resource == "scheduler" ? Platform.Security.SpiffeId.Scheduler() : new Platform.Security.SpiffeId("public", "default", appId);
            Assert.Equal(expected, identity.Id);
            Assert.True(certificates.Add(identity.Certificate.Thumbprint), $"{resource} has a certificate of its own");
            Assert.True(keys.Add(await File.ReadAllTextAsync(key)), $"{resource} has a key of its own");
            foreach (var file in new[] { anchors, chain, key })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            directory ??= Path.GetDirectoryName(key);
            Assert.Equal(directory, Path.GetDirectoryName(key));
            Assert.StartsWith(Path.Combine(App.DataDirectory, "pki"), directory, StringComparison.Ordinal);
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory!));

        // No key travels in an environment variable (the dashboard shows those).
        foreach (var (resource, _) in sidecars)
            Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync($"/proc/{App.ProcessIdOf(resource)}/environ"));

        // The scheduler's gRPC endpoint refuses a client without a certificate.
        var scheduler = App.App.GetEndpoint("scheduler", "grpc");
        using var plain = Grpc.Net.Client.GrpcChannel.ForAddress(scheduler);
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => new Platform.SchedulerProtocol.Scheduler.SchedulerClient(plain)
            .ListJobsAsync(new Platform.SchedulerProtocol.ListJobsRequest
            {
                Metadata = new Platform.SchedulerProtocol.JobMetadata { AppId = "backupworker", Namespace = "default" },
            }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync);
        Assert.NotEqual(Grpc.Core.StatusCode.OK, refused.StatusCode);
    }
}
