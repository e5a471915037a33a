using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace AppHost.Tests;

/// <summary>What a developer's terminal shows while the AppHost runs with the dashboard open.</summary>
[Collection(AppHostTerminal.Collection)]
public sealed class AppHostTerminalTests(AppHostTerminal apphost, ITestOutputHelper output)
{
    /// <summary>
    /// Start-up takes 17 lines (version, directory, the dashboard's URLs, "started"); room is left for a few warnings.
    /// Before the AppHost had its appsettings.json, the dashboard's own gRPC calls added four lines each: 51 lines in
    /// this test's first minute on a loaded machine, where most of that minute is start-up, and hundreds a minute after.
    /// </summary>
    private const int MaxLinesInFirstMinute = 30;

    [Fact]
    public async Task In_its_first_minute_with_the_dashboard_open_the_terminal_shows_start_up_and_the_dashboard_URL_and_little_else()
    {
        var lines = await apphost.FirstMinute;
        output.WriteLine($"{lines.Count} lines in the AppHost's first {AppHostTerminal.Window.TotalSeconds} s:");
        foreach (var line in lines) output.WriteLine(line);

        Assert.Contains(lines, l => l.Contains("Login to the dashboard at http://localhost:", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Request starting", StringComparison.Ordinal) || l.Contains("Microsoft.AspNetCore.Routing", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("DataProtection", StringComparison.Ordinal));
        Assert.True(lines.Count <= MaxLinesInFirstMinute, $"{lines.Count} lines in the first minute, more than {MaxLinesInFirstMinute}");
        // Start-up ends with this line; on a loaded machine it may come after the first minute.
        await apphost.Process.WaitForOutputAsync(l => l.Contains("Distributed application started", StringComparison.Ordinal), RunningApp.StartTimeout);
    }

    /// <summary>
    /// Nothing in the default run serves HTTPS, so a machine without a trusted development certificate (any fresh
    /// Linux machine, this one included) gets neither the red dashboard notification nor the terminal warning.
    /// </summary>
    [Fact]
    public async Task The_default_run_shows_no_development_certificate_warning()
    {
        // The check runs before DCP starts, so its warning would be among the first lines, long before the dashboard opened.
        Assert.DoesNotContain(apphost.Process.Output, l => l.Contains("development certificate", StringComparison.OrdinalIgnoreCase));
        await Expect(apphost.Dashboard.GetByText("Resources").First).ToBeVisibleAsync();
        await Expect(apphost.Dashboard.GetByText("No trusted development certificate")).ToHaveCountAsync(0);
        await BrowserSession.ScreenshotAsync(apphost.Dashboard, "dashboard-default-run");
    }
}
