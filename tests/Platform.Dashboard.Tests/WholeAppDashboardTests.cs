using System.Text.RegularExpressions;
using Platform.Hosting;
using Platform.Hosting.Testing;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Platform.Dashboard.Tests;

/// <summary>
/// The dashboard as the AppHost runs it: the AppHost's own model through the testing builder (dashboard enabled),
/// every process real, looked at in Chromium through the login URL the AppHost prints.
/// </summary>
[Collection("browser")]
public class WholeAppDashboardTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_AppHost_dashboard_shows_resources_running_the_job_its_trigger_trace_and_the_worker_logs()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--Demo:Schedule=@every 2s", "--Demo:Repeats=1000"], o => o.DisableDashboard = false);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        try
        {
            foreach (var resource in app.Resources)
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource.Name).WaitAsync(StartTimeout);
            var login = app.DashboardLoginUrl ?? throw new InvalidOperationException("The AppHost gave no dashboard login URL.");
            var ui = new Uri(login).GetLeftPart(UriPartial.Authority);

            await using var browser = await BrowserSession.StartAsync();
            var page = await browser.NewPageAsync();
            await page.GotoAsync(login);
            string[] names = ["scheduler", "backupworker", "backupworker-dapr", "backupapi", "backupapi-dapr", "dashboard"];
            await Expect(page.GetByTestId("resource-row")).ToHaveCountAsync(names.Length);
            foreach (var name in names)
                await Expect(page.Locator($"[data-testid=resource-row][data-resource='{name}']").GetByTestId("resource-state")).ToHaveTextAsync("Running");
            await BrowserSession.ScreenshotAsync(page, "wholeapp-resources");

            await page.GotoAsync(ui + "/jobs");
            var job = page.Locator("[data-testid=jobs-app][data-app-id='backupworker'] [data-testid=job-row][data-job-name='prod-db-backup']");
            await Expect(job.GetByTestId("job-schedule")).ToHaveTextAsync("@every 2s");
            await Expect(job.GetByTestId("job-next-due")).ToHaveTextAsync(new Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$"));
            await BrowserSession.ScreenshotAsync(page, "wholeapp-jobs");

            // A trigger's trace: started by the scheduler, continued by the worker's sidecar and the worker. The
            // traces page refreshes itself, so the row appears once the first trigger's spans have been exported.
            await page.GotoAsync(ui + "/traces?resource=scheduler");
            var trigger = page.GetByTestId("trace-row")
                .Filter(new() { Has = page.Locator("[data-testid=trace-resource-badge]", new() { HasTextRegex = new Regex("^backupworker \\(") }) })
                .Filter(new() { Has = page.Locator("[data-testid=trace-resource-badge]", new() { HasTextRegex = new Regex("^backupworker-dapr \\(") }) })
                .First;
            await Expect(trigger).ToBeVisibleAsync(new() { Timeout = 60_000 });
            await trigger.GetByTestId("trace-link").ClickAsync();
            var spans = page.GetByTestId("span-row");
            await Expect(spans.First).ToHaveAttributeAsync("data-resource", "scheduler");
            foreach (var resource in new[] { "scheduler", "backupworker-dapr", "backupworker" })
                await Expect(page.Locator($"[data-testid=span-row][data-resource='{resource}']").First).ToBeVisibleAsync();
            await BrowserSession.ScreenshotAsync(page, "wholeapp-trigger-trace");

            await page.GotoAsync(ui + "/structuredlogs?resource=backupworker");
            await Expect(page.GetByTestId("log-row").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await BrowserSession.ScreenshotAsync(page, "wholeapp-worker-logs");
        }
        catch
        {
            foreach (var resource in app.Resources)
                foreach (var line in app.ResourceLogs.GetLines(resource.Name).TakeLast(30)) output.WriteLine($"{resource.Name}: {line.Text}");
            throw;
        }
    }
}
