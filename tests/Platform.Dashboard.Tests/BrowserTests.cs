using System.Diagnostics;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Platform.SchedulerProtocol;
using TestSupport;
using static Microsoft.Playwright.Assertions;

namespace Platform.Dashboard.Tests;

// One browser at a time: each test starts its own dashboard and Chromium, which is plenty for 2 cores.
[CollectionDefinition("browser", DisableParallelization = true)]
public class BrowserCollection;

/// <summary>The dashboard UI in real Chromium (Debian's, driven by Playwright), against the real dashboard process.</summary>
[Collection("browser")]
public class BrowserTests
{
    private static readonly string[] AppResources = ["scheduler", "backupapi", "backupapi-dapr", "backupworker", "backupworker-dapr"];

    [Fact]
    public async Task Resources_page_requires_the_token_then_lists_every_resource_running_and_sends_commands()
    {
        await using var resources = await FakeResourceService.StartAsync(apiKey: "rs-key");
        foreach (var name in AppResources)
            resources.Set(new(name, name.EndsWith("-dapr") ? "DaprSidecar" : name == "scheduler" ? "Scheduler" : "Project",
                "Running", "Healthy", 0, [$"http://127.0.0.1:{FreePort.Next()}"]));
        resources.AddLine("backupworker", "info: BackupWorker started");
        resources.AddLine("backupworker", "fail: something on stderr", isError: true);
        await using var dashboard = await DashboardInstance.StartAsync(browserToken: "secret-token", environment: new Dictionary<string, string?>
        {
            ["Dashboard__ResourceServiceUrl"] = resources.Url,
            ["Dashboard__ResourceServiceApiKey"] = "rs-key",
        });
        await using var browser = await BrowserSession.StartAsync();
        var page = await browser.NewPageAsync();

        // No token: the UI is refused (login page), a wrong token is refused with 401.
        await page.GotoAsync(dashboard.UiUrl + "/");
        await Expect(page.GetByTestId("login-page")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("resources-table")).ToHaveCountAsync(0);
        var wrong = await page.GotoAsync(dashboard.UiUrl + "/login?t=not-the-token");
        Assert.Equal(401, wrong!.Status);
        await Expect(page.GetByTestId("login-error")).ToBeVisibleAsync();
        await BrowserSession.ScreenshotAsync(page, "login-refused");

        // The login link logs in and lands on the resources page.
        await page.GotoAsync(dashboard.UiUrl + "/login?t=secret-token");
        var rows = page.GetByTestId("resource-row");
        await Expect(rows).ToHaveCountAsync(AppResources.Length);
        foreach (var name in AppResources)
        {
            var row = page.Locator($"[data-testid=resource-row][data-resource='{name}']");
            await Expect(row.GetByTestId("resource-state")).ToHaveTextAsync("Running");
            await Expect(row.GetByTestId("resource-endpoints").Locator("a")).ToHaveCountAsync(1);
        }
        await BrowserSession.ScreenshotAsync(page, "resources");

        // Details: environment shown, secrets masked.
        var details = page.Locator("[data-testid=resource-row][data-resource='scheduler'] details");
        await details.Locator("summary").ClickAsync();
        await Expect(details.GetByTestId("resource-environment")).ToContainTextAsync("OTEL_SERVICE_NAME");
        await Expect(details.GetByTestId("resource-environment")).Not.ToContainTextAsync("very-secret");

        // Stop posts the command to the resource service; the page shows the new state.
        var worker = page.Locator("[data-testid=resource-row][data-resource='backupworker']");
        await worker.GetByTestId("cmd-stop").ClickAsync();
        await Expect(page.GetByTestId("message")).ToContainTextAsync("stop sent to backupworker");
        Assert.Contains(("backupworker", "stop"), resources.Commands);
        await Expect(page.Locator("[data-testid=resource-row][data-resource='backupworker']").GetByTestId("resource-state")).ToHaveTextAsync("Exited");

        // Console logs of a resource, pulled from the resource service.
        await page.GotoAsync(dashboard.UiUrl + "/consolelogs/backupworker");
        await Expect(page.GetByTestId("console-log")).ToContainTextAsync("BackupWorker started");
        resources.AddLine("backupworker", "info: a line written later");
        await Expect(page.GetByTestId("console-log")).ToContainTextAsync("a line written later"); // live refresh
        await BrowserSession.ScreenshotAsync(page, "console-logs");
    }

    [Fact]
    public async Task A_trigger_trace_across_scheduler_sidecar_and_worker_shows_in_one_waterfall_with_attributes()
    {
        await using var dashboard = await DashboardInstance.StartAsync(apiKey: "k");
        string traceId;
        using (var scheduler = OtlpSenders.Tracer(dashboard, "scheduler", "Test.Scheduler"))
        using (var sidecar = OtlpSenders.Tracer(dashboard, "backupworker-dapr", "Test.Sidecar"))
        using (var worker = OtlpSenders.Tracer(dashboard, "backupworker", "Test.Worker"))
        using (var schedulerSource = new ActivitySource("Test.Scheduler"))
        using (var sidecarSource = new ActivitySource("Test.Sidecar"))
        using (var workerSource = new ActivitySource("Test.Worker"))
        {
            using var trigger = schedulerSource.StartActivity("trigger prod-db-backup", ActivityKind.Producer, default(ActivityContext))!;
            trigger.SetTag("scheduler.job.name", "prod-db-backup");
            trigger.SetTag("scheduler.app_id", "backupworker");
            traceId = trigger.TraceId.ToHexString();
            using (var deliver = sidecarSource.StartActivity("deliver job prod-db-backup", ActivityKind.Client, OtlpSenders.ContextOf(trigger))!)
            {
                deliver.SetTag("http.request.method", "POST");
                using var handle = workerSource.StartActivity("POST /job/prod-db-backup", ActivityKind.Server, OtlpSenders.ContextOf(deliver))!;
                handle.SetTag("backup.database", "my-prod-db");
                handle.AddEvent(new ActivityEvent("backup written"));
            }
            trigger.Stop();
            scheduler.ForceFlush();
            sidecar.ForceFlush();
            worker.ForceFlush();
        }
        using var ui = await dashboard.UiClientAsync();
        await DashboardInstance.WaitForStatsAsync(ui, s => s.GetProperty("spans").GetInt32() == 3);

        await using var browser = await BrowserSession.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.UiUrl + "/traces");
        var row = page.Locator($"[data-testid=trace-row][data-trace-id='{traceId}']");
        await Expect(row).ToContainTextAsync("scheduler: trigger prod-db-backup");
        await Expect(row.GetByTestId("trace-resource-badge")).ToHaveTextAsync(["scheduler (1)", "backupworker-dapr (1)", "backupworker (1)"]);
        await BrowserSession.ScreenshotAsync(page, "traces");

        await row.GetByTestId("trace-link").ClickAsync();
        var spans = page.GetByTestId("span-row");
        await Expect(spans).ToHaveCountAsync(3);
        // Waterfall order is parent before child, across the three processes.
        await Expect(spans.Locator("[data-testid=span-resource]")).ToHaveTextAsync(["scheduler", "backupworker-dapr", "backupworker"]);
        await Expect(spans.Locator("[data-testid=span-name]")).ToHaveTextAsync(["trigger prod-db-backup", "deliver job prod-db-backup", "POST /job/prod-db-backup"]);
        var workerSpan = page.Locator("[data-testid=span-row][data-resource='backupworker']");
        await workerSpan.Locator("summary").ClickAsync();
        await Expect(workerSpan.GetByTestId("span-attribute").Filter(new() { HasText = "backup.database" })).ToContainTextAsync("my-prod-db");
        await Expect(workerSpan.GetByTestId("span-event")).ToContainTextAsync("backup written");
        await BrowserSession.ScreenshotAsync(page, "trace-waterfall");
    }

    [Fact]
    public async Task Structured_logs_of_the_worker_are_listed_filtered_by_level_and_text_and_open_their_trace()
    {
        await using var dashboard = await DashboardInstance.StartAsync(apiKey: "k");
        string traceId;
        using (var tracer = OtlpSenders.Tracer(dashboard, "backupworker", "Test.Worker"))
        using (var loggers = OtlpSenders.Logger(dashboard, "backupworker"))
        using (var other = OtlpSenders.Logger(dashboard, "backupapi"))
        using (var source = new ActivitySource("Test.Worker"))
        {
            var log = loggers.CreateLogger("BackupWorker.BackupEngine");
            log.LogDebug("Checking backup directory {Dir}", "/backup-dir");
            log.LogInformation("Backup of {Database} started", "my-prod-db");
            log.LogWarning("Backup directory {Dir} is 91% full", "/backup-dir");
            using (var activity = source.StartActivity("POST /job/prod-db-backup", ActivityKind.Server)!)
            {
                traceId = activity.TraceId.ToHexString();
                log.LogError("Backup of {Database} failed: {Reason}", "other-db", "connection refused");
            }
            other.CreateLogger("BackupApi").LogError("An api error that is not the worker's");
            tracer.ForceFlush();
        }
        using var ui = await dashboard.UiClientAsync();
        await DashboardInstance.WaitForStatsAsync(ui, s => s.GetProperty("logs").GetInt32() == 5 && s.GetProperty("spans").GetInt32() == 1);

        await using var browser = await BrowserSession.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.UiUrl + "/structuredlogs");
        await page.SelectOptionAsync("#log-resource", "backupworker");
        await page.ClickAsync("#log-apply");
        var rows = page.GetByTestId("log-row");
        await Expect(rows).ToHaveCountAsync(4);
        await Expect(rows.GetByTestId("log-message").Locator("summary")).ToHaveTextAsync([
            "Backup of other-db failed: connection refused", "Backup directory /backup-dir is 91% full",
            "Backup of my-prod-db started", "Checking backup directory /backup-dir"]);
        await BrowserSession.ScreenshotAsync(page, "structured-logs");

        await page.SelectOptionAsync("#log-level", "Warning");
        await page.ClickAsync("#log-apply");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.GetByTestId("log-level-cell")).ToHaveTextAsync(["Error", "Warning"]);

        await page.FillAsync("#log-filter", "failed");
        await page.ClickAsync("#log-apply");
        await Expect(rows).ToHaveCountAsync(1);
        await BrowserSession.ScreenshotAsync(page, "structured-logs-filtered");

        await rows.GetByTestId("log-trace-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/traces/{traceId}\\?span=[0-9a-f]{{16}}$"));
        await Expect(page.GetByTestId("span-row")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("span-details")).ToBeVisibleAsync(); // the log's span is opened
        await Expect(page.GetByTestId("span-name")).ToHaveTextAsync("POST /job/prod-db-backup");
    }

    [Fact]
    public async Task Structured_logs_page_keeps_only_the_configured_number_of_logs()
    {
        await using var dashboard = await DashboardInstance.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Dashboard__TelemetryLimits__MaxLogCount"] = "25",
        });
        for (var batch = 0; batch < 4; batch++)
        {
            using var r = await OtlpSenders.PostProtobufAsync(dashboard, "/v1/logs", OtlpSenders.Logs("backupworker", 25, batch * 25), null);
            r.EnsureSuccessStatusCode();
        }
        await using var browser = await BrowserSession.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.UiUrl + "/structuredlogs");
        await Expect(page.GetByTestId("log-row")).ToHaveCountAsync(25);
        await Expect(page.GetByTestId("log-count")).ToContainTextAsync("25 stored (limit 25)");
        await Expect(page.GetByTestId("log-message").First).ToContainTextAsync("message #99");
        await Expect(page.GetByTestId("log-message").Last).ToContainTextAsync("message #75");
    }

    [Fact]
    public async Task Jobs_page_shows_a_job_of_the_real_scheduler_with_its_next_due_time_and_delete_removes_it()
    {
        await using var scheduler = await SchedulerProcess.StartAsync();
        using var channel = GrpcChannel.ForAddress(scheduler.GrpcAddress);
        var client = new Scheduler.SchedulerClient(channel);
        var metadata = new JobMetadata { AppId = "backupworker", Namespace = "default", Target = new JobTargetMetadata { Job = new TargetJob() } };
        await client.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = "prod-db-backup",
            Metadata = metadata,
            Job = new Job
            {
                Schedule = "@every 1m",
                Repeats = 10,
                Data = Any.Pack(new StringValue { Value = """{"task":"db-backup","metadata":{"DBName":"my-prod-db","BackupLocation":"/backup-dir"}}""" }),
            },
        });
        await using var dashboard = await DashboardInstance.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Dashboard__SchedulerAddress"] = scheduler.GrpcAddress,
        });
        await using var browser = await BrowserSession.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.UiUrl + "/jobs");
        var app = page.Locator("[data-testid=jobs-app][data-app-id='backupworker']");
        var job = app.Locator("[data-testid=job-row][data-job-name='prod-db-backup']");
        await Expect(job.GetByTestId("job-schedule")).ToHaveTextAsync("@every 1m");
        await Expect(job.GetByTestId("job-repeats-left")).ToHaveTextAsync("10");
        await Expect(job.GetByTestId("job-next-due")).ToHaveTextAsync(new Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$"));
        await BrowserSession.ScreenshotAsync(page, "jobs");

        await job.GetByTestId("job-delete").ClickAsync();
        await Expect(page.GetByTestId("message")).ToContainTextAsync("Deleted job prod-db-backup");
        await Expect(page.GetByTestId("job-row")).ToHaveCountAsync(0);
        var remaining = await client.ListJobsAsync(new ListJobsRequest { Metadata = metadata });
        Assert.Empty(remaining.Jobs);
    }

    [Fact]
    public async Task Metrics_page_charts_a_counter_and_a_histogram_over_time()
    {
        await using var dashboard = await DashboardInstance.StartAsync(apiKey: "k");
        using (var meters = OtlpSenders.Meter(dashboard, "scheduler", "Platform.Scheduler"))
        using (var meter = new System.Diagnostics.Metrics.Meter("Platform.Scheduler"))
        {
            var sent = meter.CreateCounter<long>("scheduler.triggers.sent", description: "Triggers sent to sidecars");
            var lateness = meter.CreateHistogram<double>("scheduler.trigger.lateness", unit: "ms", description: "Trigger time minus due time");
            for (var round = 1; round <= 3; round++)
            {
                sent.Add(2, new KeyValuePair<string, object?>("app_id", "backupworker"));
                lateness.Record(round * 10);
                Assert.True(meters.ForceFlush(10_000));
            }
        }
        using var ui = await dashboard.UiClientAsync();
        await DashboardInstance.WaitForStatsAsync(ui, s => s.GetProperty("metricPoints").GetInt32() >= 6);

        await using var browser = await BrowserSession.StartAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(dashboard.UiUrl + "/metrics");
        await page.GetByTestId("metrics-resource-link").Filter(new() { HasText = "scheduler" }).ClickAsync();
        await page.Locator("[data-testid=instrument-link][data-instrument='scheduler.triggers.sent']").ClickAsync();
        await Expect(page.GetByTestId("instrument-name")).ToContainTextAsync("scheduler.triggers.sent");
        await Expect(page.GetByTestId("metric-chart").Locator("[data-testid=metric-line]")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId("metric-series-row")).ToContainTextAsync("app_id=backupworker");
        await Expect(page.GetByTestId("metric-latest")).ToHaveTextAsync("6"); // cumulative: 2 + 2 + 2
        await BrowserSession.ScreenshotAsync(page, "metrics-counter");

        await page.Locator("[data-testid=instrument-link][data-instrument='scheduler.trigger.lateness']").ClickAsync();
        await Expect(page.GetByTestId("metric-chart").Locator("[data-testid=metric-line]")).ToHaveCountAsync(3); // p50, p90, p99
        await Expect(page.GetByTestId("metric-latest")).ToContainTextAsync("count 3, sum 60, mean 20");
        await BrowserSession.ScreenshotAsync(page, "metrics-histogram");
    }
}
