using System.Net;

namespace Platform.Dashboard.Tests;

/// <summary>The UI's guards, over plain HTTP against the real process.</summary>
public class SecurityTests
{
    [Fact]
    public async Task With_a_browser_token_every_page_and_api_needs_the_login_cookie()
    {
        await using var dashboard = await DashboardInstance.StartAsync(browserToken: "tok");
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(dashboard.UiUrl) };
        foreach (var path in new[] { "/", "/structuredlogs", "/traces", "/metrics", "/jobs", "/consolelogs", "/api/telemetry/stats" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.StartsWith("/login?returnUrl=", response.Headers.Location!.OriginalString);
        }
        using var post = await anonymous.PostAsync("/resources/backupworker/commands/stop", null);
        Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        using var health = await anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // The login returns to where the user was going, and only to a local path.
        using var login = await anonymous.GetAsync("/login?t=tok&returnUrl=%2Ftraces");
        Assert.Equal("/traces", login.Headers.Location!.OriginalString);
        using var offsite = await anonymous.GetAsync("/login?t=tok&returnUrl=%2F%2Fevil.example");
        Assert.Equal("/", offsite.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Cross_site_form_posts_are_refused()
    {
        await using var dashboard = await DashboardInstance.StartAsync();
        using var ui = await dashboard.UiClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/delete")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["appId"] = "backupworker", ["name"] = "prod-db-backup" }),
        };
        request.Headers.Add("Sec-Fetch-Site", "cross-site");
        using var response = await ui.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
