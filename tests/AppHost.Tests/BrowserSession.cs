using Microsoft.Playwright;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// Debian's Chromium driven by Playwright (no `playwright install`): headless, fresh temp profile per session.
/// </summary>
public sealed class BrowserSession : IAsyncDisposable
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private readonly IPlaywright _playwright;
    private readonly string _profileDir;

    public IBrowserContext Context { get; }

    private BrowserSession(IPlaywright playwright, IBrowserContext context, string profileDir)
    {
        _playwright = playwright;
        Context = context;
        _profileDir = profileDir;
    }

    public static string ScreenshotDir { get; } = Path.Combine(RepoPaths.Root, "tests", "AppHost.Tests", "TestResults", "screenshots");

    public static async Task<BrowserSession> StartAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (test.sh does so as root).");
        Assertions.SetDefaultExpectTimeout(15_000);
        var playwright = await Playwright.CreateAsync();
        var profile = Directory.CreateTempSubdirectory("dashboard-chromium-").FullName;
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ChromiumPath,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic"],
                ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
                Timeout = 60_000,
            });
            context.SetDefaultTimeout(15_000);
            return new BrowserSession(playwright, context, profile);
        }
        catch
        {
            playwright.Dispose();
            Directory.Delete(profile, recursive: true);
            throw;
        }
    }

    public async Task<IPage> NewPageAsync() => Context.Pages.Count > 0 ? Context.Pages[0] : await Context.NewPageAsync();

    /// <summary>Saves a full-page PNG under tests/AppHost.Tests/TestResults/screenshots (kept as a test artifact).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        try { await Context.CloseAsync(); } catch (PlaywrightException) { }
        _playwright.Dispose();
        try { Directory.Delete(_profileDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
