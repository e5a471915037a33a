using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TestSupport;
using static Microsoft.Playwright.Assertions;

namespace AppHost.Tests;

/// <summary>
/// The AppHost as <c>dotnet run --project AppHost</c> starts it: its build output run with the project directory as
/// working directory (so its appsettings.json applies) and its default launch profile's environment, its terminal
/// captured. The dashboard stays open in Chromium on the resources page, as a developer keeps it. Only its ports,
/// state directory and API key are the test's own, so that runs beside other developers' do not collide.
/// </summary>
public sealed partial class AppHostTerminal : IAsyncLifetime
{
    public const string Collection = "AppHost terminal";
    public const string LaunchProfile = "http";
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("apphost-terminal-").FullName;
    // A fresh machine's: no development certificate, no Data Protection keys, whatever this machine's user has made.
    private readonly string _home = Directory.CreateTempSubdirectory("apphost-terminal-home-").FullName;
    private readonly Stopwatch _sinceStart = new();
    private Task<IReadOnlyList<string>>? _firstMinute;

    public TestProcess Process { get; private set; } = null!;

    public BrowserSession Browser { get; private set; } = null!;

    /// <summary>The dashboard's resources page, left open for the whole class.</summary>
    public IPage Dashboard { get; private set; } = null!;

    /// <summary>BackupApi's address, as the dashboard links it.</summary>
    public Uri BackupApi { get; private set; } = null!;

    /// <summary>Every line the AppHost wrote to its terminal in its first minute (completes a minute after its start).</summary>
    public Task<IReadOnlyList<string>> FirstMinute => _firstMinute!;

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch (Exception e) when (Process is not null)
        {
            var output = string.Join(Environment.NewLine, Process.Output.TakeLast(60));
            await DisposeAsync();
            throw new InvalidOperationException($"The AppHost did not start with its dashboard: {e.Message}{Environment.NewLine}Its terminal:{Environment.NewLine}{output}", e);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync()
    {
        var appHostDirectory = Path.Combine(RepoPaths.Root, "AppHost");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = appHostDirectory };
        psi.ArgumentList.Add(RepoPaths.ProjectOutput("AppHost", "AppHost"));
        // Command-line settings outrank the launch profile's environment, as for `dotnet run -- --key=value`.
        foreach (var arg in (string[])[
                     $"--ASPNETCORE_URLS=http://localhost:{FreePort.Next()}",
                     $"--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:{FreePort.Next()}",
                     $"--ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://localhost:{FreePort.Next()}",
                     "--DcpPublisher:RandomizePorts=true",
                     $"--AppHost:DataDirectory={_dataDirectory}",
                     $"--Parameters:backupapi-key={RunningApp.ApiKey}"])
            psi.ArgumentList.Add(arg);
        _sinceStart.Start();
        var environment = LaunchProfileEnvironment(appHostDirectory, LaunchProfile);
        environment["HOME"] = _home;
        // The SDK's first run on a fresh machine would make an untrusted certificate, which changes nothing here.
        environment["DOTNET_GENERATE_ASPNET_CERTIFICATE"] = "false";
        Process = TestProcess.Start("apphost", psi, environment);
        _firstMinute = SnapshotAtAsync(Window);

        var login = await Process.WaitForOutputAsync(l => LoginLine().IsMatch(l), RunningApp.StartTimeout);
        Browser = await BrowserSession.StartAsync();
        Dashboard = await Browser.NewPageAsync();
        await Dashboard.GotoAsync(LoginLine().Match(login).Groups["url"].Value);
        await Dashboard.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal));
        var backupApi = Dashboard.Locator("td[title$=': backupapi']").Locator("xpath=ancestor::tr");
        // The dashboard's page can fail right after the login redirect (its layout's script reference disposed under
        // it, seen under load) and then shows Blazor's error bar; a person reloads it, and so does the test.
        var failed = Dashboard.GetByText("An unhandled error has occurred.");
        for (var attempt = 1; ; attempt++)
        {
            await Expect(backupApi.GetByText("Running").Or(failed).First).ToBeVisibleAsync(new() { Timeout = (float)RunningApp.StartTimeout.TotalMilliseconds });
            if (!await failed.IsVisibleAsync()) break;
            if (attempt == 3) throw new InvalidOperationException("the dashboard failed three times");
            await Dashboard.ReloadAsync();
        }
        var link = backupApi.Locator("a[href^='http://localhost:']").First;
        BackupApi = new Uri(await link.GetAttributeAsync("href") ?? throw new InvalidOperationException("backupapi has no link"));
        using var http = new HttpClient { BaseAddress = BackupApi, Timeout = TimeSpan.FromSeconds(10) };
        await Poll.UntilAsync(async () =>
        {
            using var response = await http.GetAsync("/health");
            return response.IsSuccessStatusCode ? true : (bool?)null;
        }, RunningApp.StartTimeout, "backupapi healthy");
    }

    /// <summary>The variables `dotnet run` sets from a launch profile: its environment, its URLs, its name.</summary>
    private static Dictionary<string, string?> LaunchProfileEnvironment(string projectDirectory, string profile)
    {
        using var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(projectDirectory, "Properties", "launchSettings.json")));
        var chosen = settings.RootElement.GetProperty("profiles").GetProperty(profile);
        var environment = chosen.GetProperty("environmentVariables").EnumerateObject().ToDictionary(p => p.Name, p => (string?)p.Value.GetString());
        environment["ASPNETCORE_URLS"] = chosen.GetProperty("applicationUrl").GetString();
        environment["DOTNET_LAUNCH_PROFILE"] = profile;
        return environment;
    }

    private async Task<IReadOnlyList<string>> SnapshotAtAsync(TimeSpan at)
    {
        // A window of the terminal's life, not a wait for an event: it ends at a fixed time after the start.
        var left = at - _sinceStart.Elapsed;
        if (left > TimeSpan.Zero) await Task.Delay(left);
        return [.. Process.Output];
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        if (Process is not null)
        {
            // Ctrl+C's way: the AppHost stops its resources and DCP before it exits.
            await Process.StopAsync(TimeSpan.FromSeconds(60));
            await Process.DisposeAsync();
        }
        foreach (var directory in (string[])[_dataDirectory, _home])
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [GeneratedRegex(@"Login to the dashboard at (?<url>http://localhost:\d+/login\?t=[0-9a-f]+)")]
    private static partial Regex LoginLine();
}
