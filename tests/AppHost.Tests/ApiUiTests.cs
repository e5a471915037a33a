using System.Net;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AppHost.Tests;

/// <summary>BackupApi's OpenAPI document and its Scalar UI at <c>/</c>, as an operator uses them from the dashboard's link.</summary>
[Collection(AppHostTerminal.Collection)]
public sealed partial class ApiUiTests(AppHostTerminal apphost)
{
    private const string Scheme = "ApiKey";
    private const string Header = "X-Api-Key";
    private static readonly TimeSpan FirstLoadTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_OpenAPI_document_is_valid_and_says_that_every_operation_needs_the_API_key_header()
    {
        using var http = new HttpClient { BaseAddress = apphost.BackupApi };
        var text = await http.GetStringAsync("/openapi/v1.json");
        var read = OpenApiDocument.Parse(text, OpenApiConstants.Json, new OpenApiReaderSettings());
        Assert.Empty(read.Diagnostic?.Errors ?? []);
        Assert.Empty(read.Diagnostic?.Warnings ?? []);
        var document = read.Document!;
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()) ?? []);

        var scheme = Assert.Contains(Scheme, document.Components!.SecuritySchemes!);
        Assert.Equal(SecuritySchemeType.ApiKey, scheme.Type);
        Assert.Equal(ParameterLocation.Header, scheme.In);
        Assert.Equal(Header, scheme.Name);

        // Every operation in the document needs the key, and says so; the server agrees: without it, each is a 401.
        // The routes that need none (health, the document, the UI) are not operations of the API.
        var operations = document.Paths.SelectMany(p => p.Value.Operations!.Select(o => (Path: p.Key, Method: o.Key, Operation: o.Value))).ToList();
        Assert.True(operations.Count >= 10, $"only {operations.Count} operations in the document");
        foreach (var (path, method, operation) in operations)
        {
            var requirement = Assert.Single(operation.Security ?? []);
            Assert.Equal(Scheme, Assert.Single(requirement.Keys).Reference.Id);
            Assert.Contains("401", operation.Responses!.Keys);
            using var request = new HttpRequestMessage(method, path.Replace("{name}", "nightly").Replace("{id}", "1"));
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} without the key: {(int)response.StatusCode}");
        }
        Assert.DoesNotContain(document.Paths.Keys, p => p.StartsWith("/health", StringComparison.Ordinal) || p.StartsWith("/alive", StringComparison.Ordinal));
        using var health = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    /// <summary>
    /// The key entered once in the UI's Authentication panel is kept (it survives a reload) and sent with a request
    /// made from the UI; the page fetches nothing from outside the machine.
    /// </summary>
    [Fact]
    public async Task In_the_Scalar_UI_an_operator_stores_the_key_and_creates_a_schedule()
    {
        var page = await apphost.Browser.Context.NewPageAsync();
        // In front, as the tab a person is using: Chromium slows the timers of a tab in the background.
        await page.BringToFrontAsync();
        var outside = new List<string>();
        await page.RouteAsync(OutsideTheMachine(), async route =>
        {
            lock (outside) outside.Add(route.Request.Url);
            await route.AbortAsync();
        });
        try
        {
            // The first load compiles Scalar's script bundle in a cold browser: 4 s to "load" on an idle machine here,
            // more than the 15 s default in CI beside the other lane's backups. Later loads use the browser's cache.
            await page.GotoAsync(new Uri(apphost.BackupApi, "/").ToString(), new() { Timeout = (float)FirstLoadTimeout.TotalMilliseconds });
            var key = page.GetByLabel("Value").First;
            await key.FillAsync(RunningApp.ApiKey);
            // The UI writes the key to the browser's local storage shortly after it is typed; then it survives a reload.
            await page.WaitForFunctionAsync("key => Object.values(localStorage).some(v => v.includes(key))", RunningApp.ApiKey,
                new() { PollingInterval = 100 });
            await page.ReloadAsync();
            await Expect(page.GetByLabel("Value").First).ToHaveValueAsync(RunningApp.ApiKey);

            await page.GetByRole(AriaRole.Button, new() { Name = "Test Request (post /schedules)" }).ClickAsync();
            var client = page.GetByRole(AriaRole.Dialog);
            var body = client.Locator(".cm-content").Last;
            await body.ClickAsync();
            await page.Keyboard.PressAsync("Control+A");
            await page.Keyboard.PressAsync("Delete");
            await body.FillAsync("""{"name":"from-scalar-ui","database":"my-prod-db","schedule":"0 0 3 * * *"}""");
            var created = page.WaitForResponseAsync(r => r.Url.EndsWith("/schedules", StringComparison.Ordinal) && r.Request.Method == "POST");
            await client.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("^Send post request") }).ClickAsync();
            Assert.Equal(RunningApp.ApiKey, (await created).Request.Headers.GetValueOrDefault("x-api-key"));
            await Expect(client).ToContainTextAsync("201 Created");
            // The client alone: the whole reference page is long, and a full-page shot of it takes seconds.
            Directory.CreateDirectory(BrowserSession.ScreenshotDir);
            await client.ScreenshotAsync(new() { Path = Path.Combine(BrowserSession.ScreenshotDir, "scalar-create-schedule.png") });

            using var http = new HttpClient { BaseAddress = apphost.BackupApi };
            http.DefaultRequestHeaders.Add(Header, RunningApp.ApiKey);
            using var schedule = await http.GetAsync("/schedules/from-scalar-ui");
            Assert.Equal(HttpStatusCode.OK, schedule.StatusCode);
            lock (outside) Assert.Empty(outside);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    /// <summary>Any address but loopback's (matched by the browser, so the page's own requests are not intercepted).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"^(?!https?://(localhost|127\.0\.0\.1|\[::1\])[:/])")]
    private static partial System.Text.RegularExpressions.Regex OutsideTheMachine();
}
