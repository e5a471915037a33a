using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AppHost.Tests;

/// <summary>What an operator sees in the Aspire dashboard, in real Chromium; screenshots are kept as test artifacts.</summary>
[Collection(DemoAppCollection.Name)]
public sealed class DashboardTests(DemoAppFixture fixture)
{
    private static readonly string[] Resources = ["scheduler", "backupapi", "backupapi-dapr", "backupworker", "backupworker-dapr"];

    [Fact]
    public async Task Every_resource_is_running_and_healthy_and_the_sidecars_are_nested_under_their_apps()
    {
        var page = await (await fixture.BrowserAsync()).NewPageAsync();
        await page.GotoAsync(fixture.Dashboard("/").ToString());
        foreach (var name in Resources)
        {
            var row = NameCell(page, name).Locator("xpath=ancestor::tr");
            await Expect(row).ToContainTextAsync("Running");
        }
        foreach (var sidecar in new[] { "backupapi-dapr", "backupworker-dapr" })
            await Expect(NameCell(page, sidecar).Locator(".resources-name-container")).ToHaveAttributeAsync("style", NestedOneLevel);
        await Expect(NameCell(page, "backupworker").Locator(".resources-name-container")).Not.ToHaveAttributeAsync("style", NestedOneLevel);
        await Expect(page.Locator("table")).Not.ToContainTextAsync("Unhealthy");
        await BrowserSession.ScreenshotAsync(page, "dashboard-resources");
    }

    [Fact]
    public async Task The_jobs_are_shown_under_the_scheduler_with_their_next_due_time_and_Delete_works()
    {
        var page = await (await fixture.BrowserAsync()).NewPageAsync();
        await page.GotoAsync(fixture.Dashboard("/").ToString());
        var job = NameCell(page, "prod-db-backup");
        await Expect(job.Locator(".resources-name-container")).ToHaveAttributeAsync("style", NestedOneLevel);
        var row = job.Locator("xpath=ancestor::tr");
        await Expect(row).ToContainTextAsync("Scheduled");
        // The grid's Source column carries the schedule, the next due time and the progress.
        await Expect(row).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"@every 2s · \d+ of 1000 fired · next \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"));

        await ChooseFromActionsMenuAsync(page, row, "View details", page.GetByText("DaprJob: prod-db-backup"));
        // The job's own values are beyond Aspire's core properties: the details pane shows them with "Show all properties".
        await ShowAllPropertiesAsync(page, page.GetByText("Next due", new() { Exact = true }));
        await Expect(page.GetByText("Triggers so far", new() { Exact = true })).ToBeVisibleAsync();
        await Expect(page.GetByText("Repeats left", new() { Exact = true })).ToBeVisibleAsync();
        await BrowserSession.ScreenshotAsync(page, "dashboard-job-details");

        await page.GetByTitle("Close").ClickAsync();

        // Delete, from a job's actions menu and confirmed: the job leaves the scheduler and the page.
        using var api = fixture.Running.CreateHttpClient("backupapi");
        var created = await api.PostAsJsonAsync("/schedules", new { name = "nightly", database = "my-prod-db", schedule = "0 0 2 * * *" });
        Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
        var nightly = NameCell(page, "nightly");
        await ChooseFromActionsMenuAsync(page, nightly.Locator("xpath=ancestor::tr"), "Delete",
            page.GetByText("Delete job 'nightly' of app 'backupworker'?"));
        await page.Locator("fluent-button", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^\\s*Yes\\s*$") }).ClickAsync();
        await Expect(nightly).ToHaveCountAsync(0);
        await Expect(NameCell(page, "prod-db-backup")).ToHaveCountAsync(1);

        var schedule = await api.GetJsonAsync("/schedules/nightly");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, schedule.GetProperty("job").ValueKind);
    }

    [Fact]
    public async Task One_triggers_trace_holds_spans_of_the_scheduler_the_workers_sidecar_and_the_worker()
    {
        var page = await (await fixture.BrowserAsync()).NewPageAsync();
        await page.GotoAsync(fixture.Dashboard("/traces").ToString());
        await page.Locator("input[name='traces-search']").FillAsync("scheduler.trigger");
        var trace = page.Locator("tr", new() { HasText = "scheduler.trigger prod-db-backup" })
            .Filter(new() { HasText = "backupworker-dapr (" }).Filter(new() { HasText = "backupworker (" }).Filter(new() { HasText = "scheduler (" }).First;
        await Expect(trace).ToBeVisibleAsync(new() { Timeout = 30_000 });
        // Opened by its address rather than a click on the row: the live grid re-renders as triggers arrive, and a click
        // landing on a row being replaced is lost. The row names its full trace id in the name cell's tooltip.
        var traceId = System.Text.RegularExpressions.Regex.Match(await trace.AriaSnapshotAsync(), "Trace Id: ([0-9a-f]{32})").Groups[1].Value;
        Assert.NotEmpty(traceId);
        await page.GotoAsync(fixture.Dashboard($"/traces/detail/{traceId}").ToString());
        // The trace's spans, each labelled with its resource: the scheduler's trigger, the sidecar's delivery, the worker's handler and its backup.
        await Expect(page.GetByText("backupworker-dapr: job trigger prod-db-backup", new() { Exact = true })).ToBeAttachedAsync();
        await Expect(page.GetByText("backupworker: POST /job/{jobName}", new() { Exact = true })).ToBeAttachedAsync();
        await Expect(page.GetByText("backupworker: backup my-prod-db", new() { Exact = true })).ToBeAttachedAsync();
        await BrowserSession.ScreenshotAsync(page, "dashboard-trigger-trace");
    }

    [Fact]
    public async Task The_workers_structured_logs_show_its_backups()
    {
        var page = await (await fixture.BrowserAsync()).NewPageAsync();
        await page.GotoAsync(fixture.Dashboard("/structuredlogs").ToString());
        await page.Locator("input[name='structured-logs-search']").FillAsync("schedule prod-db-backup succeeded");
        var entry = page.Locator("tr", new() { HasText = "schedule prod-db-backup succeeded" }).First;
        await Expect(entry).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(entry).ToContainTextAsync("backupworker");
        await BrowserSession.ScreenshotAsync(page, "dashboard-worker-logs");
    }

    /// <summary>
    /// Chooses <paramref name="item"/> from a grid row's "Actions" menu until <paramref name="outcome"/> shows. The grid
    /// re-renders its rows as the jobs' counts change (every second here), and a click that lands while the menu is
    /// re-rendered is lost, leaving the menu open with nothing opened (seen beside a CPU burner): then it is chosen again.
    /// </summary>
    private static async Task ChooseFromActionsMenuAsync(IPage page, ILocator row, string item, ILocator outcome)
    {
        for (var attempt = 1; ; attempt++)
        {
            await row.GetByRole(AriaRole.Button, new() { Name = "Actions" }).ClickAsync();
            await page.GetByRole(AriaRole.Menuitem, new() { Name = item }).ClickAsync();
            try
            {
                await Expect(outcome).ToBeVisibleAsync(new() { Timeout = 5_000 });
                return;
            }
            catch (PlaywrightException) when (attempt < 3)
            {
                await page.Keyboard.PressAsync("Escape");
            }
        }
    }

    /// <summary>
    /// Chooses "Show all properties" from the details pane's "View options" menu (the grid has one too) until
    /// <paramref name="outcome"/> shows. The pane re-renders as the job's counts change, and a click that lands while it
    /// does is lost, leaving the menu open with nothing shown (seen beside a CPU burner): then it is chosen again.
    /// </summary>
    private static async Task ShowAllPropertiesAsync(IPage page, ILocator outcome)
    {
        var showAll = page.GetByText("Show all properties", new() { Exact = true });
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            foreach (var options in await page.Locator("fluent-button[title='View options']").AllAsync())
            {
                // A click judged lost may still have taken effect late; choosing again would then hide the properties.
                if (await outcome.IsVisibleAsync())
                    return;
                await options.ClickAsync();
                try
                {
                    await showAll.ClickAsync(new() { Timeout = 2_000 });
                    await Expect(outcome).ToBeVisibleAsync(new() { Timeout = 5_000 });
                    return;
                }
                // A lost click times out on the menu item (TimeoutException) or on the outcome (PlaywrightException).
                catch (Exception e) when (e is TimeoutException or PlaywrightException)
                {
                    await page.Keyboard.PressAsync("Escape");
                }
            }
        }
        await Expect(outcome).ToBeVisibleAsync();
    }

    /// <summary>The grid indents a child resource's name one level under its parent.</summary>
    private static readonly System.Text.RegularExpressions.Regex NestedOneLevel = new("margin-left: 16px");

    private static ILocator NameCell(IPage page, string name) => page.Locator($"td[title$=': {name}']");
}
