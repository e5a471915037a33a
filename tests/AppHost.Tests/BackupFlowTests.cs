using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// One app, the how-to's job every 2 s and two worker replicas, shared by the tests of the collection: each looks at
/// its own schedule, or only reads. Its apps are in the trust domain example.org, not Dapr's default; it has the
/// offsite repository (Azurite) when Azurite is installed, and the Aspire dashboard for the browser tests.
/// </summary>
public sealed class DemoAppFixture : IAsyncLifetime
{
    private readonly string _browserToken = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    private readonly SemaphoreSlim _browserGate = new(1, 1);
    private BrowserSession? _browser;

    public RunningApp Running { get; private set; } = null!;

    /// <summary>The Aspire dashboard's address (the app runs with it, for the browser tests).</summary>
    public Uri Dashboard(string path) => new(Running.App.GetEndpoint("aspire-dashboard", "http"), path);

    /// <summary>Chromium logged in to the dashboard, started by the first browser test that asks.</summary>
    public async Task<BrowserSession> BrowserAsync()
    {
        await _browserGate.WaitAsync();
        try
        {
            if (_browser is not null) return _browser;
            var browser = await BrowserSession.StartAsync();
            var page = await browser.NewPageAsync();
            await page.GotoAsync(Dashboard($"/login?t={_browserToken}").ToString());
            await Microsoft.Playwright.Assertions.Expect(page.GetByRole(Microsoft.Playwright.AriaRole.Heading, new() { Name = "Resources" })
                .Or(page.GetByText("Resources").First)).ToBeVisibleAsync();
            return _browser = browser;
        }
        finally
        {
            _browserGate.Release();
        }
    }

    /// <summary>The offsite repository's encryption key, given as the parameter so that nothing is written to user secrets.</summary>
    public string OffsiteKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public async Task InitializeAsync()
    {
        string[] offsite = TestSupport.AzuriteProcess.MissingReason is null ? ["--AppHost:Offsite=true", $"--Parameters:offsite-encryption-key={OffsiteKey}"] : [];
        // Repeats enough for the how-to's job to outlive every test of the collection, in whatever order they run.
        Running = await RunningApp.StartAsync(["--Demo:Schedule=@every 2s", $"--Demo:Repeats={DemoRepeats}", "--Demo:KeepLast=100", "--AppHost:WorkerReplicas=2",
            "--Dapr:TrustDomain=example.org", .. offsite], browserToken: _browserToken);
    }

    public const int DemoRepeats = 1000;

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        if (Running is not null) await Running.DisposeAsync();
    }
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
    public async Task Each_sidecar_and_the_scheduler_get_their_certificate_from_the_sentry_with_their_own_token_and_no_key_on_disk()
    {
        var sidecars = new[] { "backupapi-dapr", "backupworker-dapr", "backupworker-2-dapr" };
        var sentry = App.App.GetEndpoint("sentry", "grpc");
        var tokens = new HashSet<string>();
        string? anchors = null;
        foreach (var resource in sidecars.Append("scheduler"))
        {
            var args = (await File.ReadAllTextAsync($"/proc/{App.ProcessIdOf(resource)}/cmdline")).Split('\0');
            string Flag(string name) => args[Array.IndexOf(args, name) + 1];
            if (resource != "scheduler") Assert.Contains("--enable-mtls", args);
            // The key is made in memory: no key or certificate file is named, only the Sentry and the trust anchors.
            Assert.DoesNotContain("--cert-key-file", args);
            Assert.DoesNotContain("--cert-chain-file", args);
            Assert.Equal($"{sentry.Host}:{sentry.Port}", Flag("--sentry-address"));
            anchors ??= Flag("--trust-anchors-file");
            Assert.Equal(anchors, Flag("--trust-anchors-file"));
            var environment = (await File.ReadAllTextAsync($"/proc/{App.ProcessIdOf(resource)}/environ")).Split('\0');
            Assert.DoesNotContain(environment, e => e.Contains("PRIVATE KEY", StringComparison.Ordinal));
            var token = Assert.Single(environment, e => e.StartsWith("DAPR_SENTRY_TOKEN=", StringComparison.Ordinal));
            Assert.True(tokens.Add(token), $"{resource} has a bootstrap token of its own");
        }
        Assert.StartsWith(Path.Combine(App.DataDirectory, "pki"), anchors, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(anchors)!));
        // The CA key was handed to the Sentry in a file it deleted on reading; no private key is left on disk.
        foreach (var file in Directory.EnumerateFiles(Path.GetDirectoryName(anchors)!))
            Assert.DoesNotContain("PRIVATE KEY", await File.ReadAllTextAsync(file));
        // The Sentry knows the tokens only by their hashes.
        var sentryEnvironment = await File.ReadAllTextAsync($"/proc/{App.ProcessIdOf("sentry")}/environ");
        foreach (var token in tokens) Assert.DoesNotContain(token["DAPR_SENTRY_TOKEN=".Length..], sentryEnvironment, StringComparison.Ordinal);

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
