using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Platform.Hosting;
using Platform.Hosting.Testing;

namespace AppHost.Tests;

/// <summary>The AppHost resource service HTTP API of the team contract, read by the dashboard.</summary>
public sealed class ResourceServiceTests
{
    [Fact]
    public async Task Resources_logs_and_commands_follow_the_contract()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create();
        builder.AddShell("talker", "echo hello; echo oops >&2; exec sleep 600").WithHttpEndpoint(env: "PORT");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceHealthyAsync("talker").WaitAsync(TestHelpers.Timeout);
        await app.WaitForLogAsync("talker", l => l == "oops");

        using var anonymous = new HttpClient { BaseAddress = new Uri(app.ResourceServiceUrl) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/resources")).StatusCode);

        using var http = new HttpClient { BaseAddress = new Uri(app.ResourceServiceUrl) };
        http.DefaultRequestHeaders.Add("x-resource-service-api-key", app.ExecutionContext.ResourceServiceApiKey);
        var resources = await http.GetFromJsonAsync<JsonElement>("/api/resources");
        var talker = resources.EnumerateArray().Single(r => r.GetProperty("name").GetString() == "talker");
        Assert.Equal("Executable", talker.GetProperty("type").GetString());
        Assert.Equal("Running", talker.GetProperty("state").GetString());
        Assert.Equal("Healthy", talker.GetProperty("health").GetString());
        Assert.Equal(app.GetProcessId("talker"), talker.GetProperty("pid").GetInt32());
        Assert.Equal(0, talker.GetProperty("restarts").GetInt32());
        Assert.EndsWith("Z", talker.GetProperty("startTime").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, talker.GetProperty("exitCode").ValueKind);
        Assert.Equal(JsonValueKind.Null, talker.GetProperty("parent").ValueKind);
        var endpoint = talker.GetProperty("endpoints").EnumerateArray().Single();
        Assert.Equal("http", endpoint.GetProperty("name").GetString());
        var port = new Uri(endpoint.GetProperty("url").GetString()!).Port;
        Assert.Contains(talker.GetProperty("environment").EnumerateArray(),
            v => v.GetProperty("name").GetString() == "PORT" && v.GetProperty("value").GetString() == port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var logs = await http.GetFromJsonAsync<JsonElement>("/api/resources/talker/logs?after=0");
        var lines = logs.EnumerateArray().Select(l => (Seq: l.GetProperty("seq").GetInt64(), Err: l.GetProperty("isError").GetBoolean(), Text: l.GetProperty("text").GetString())).ToList();
        Assert.Contains((false, "hello"), lines.Select(l => (l.Err, l.Text)));
        Assert.Contains((true, "oops"), lines.Select(l => (l.Err, l.Text)));
        var after = lines.Max(l => l.Seq);
        Assert.Empty((await http.GetFromJsonAsync<JsonElement>($"/api/resources/talker/logs?after={after}")).EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/resources/nobody/logs")).StatusCode);

        var firstPid = app.GetProcessId("talker");
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/resources/talker/commands/restart", null)).StatusCode);
        await app.ResourceNotifications.WaitForResourceAsync("talker",
            e => e.Snapshot.State == KnownResourceStates.Running && e.Snapshot.Pid != firstPid).WaitAsync(TestHelpers.Timeout);

        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/resources/talker/commands/stop", null)).StatusCode);
        await app.ResourceNotifications.WaitForResourceAsync("talker", ["Finished", "Exited"]).WaitAsync(TestHelpers.Timeout);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync("/api/resources/talker/commands/stop", null)).StatusCode);

        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/api/resources/talker/commands/start", null)).StatusCode);
        await app.ResourceNotifications.WaitForResourceAsync("talker", KnownResourceStates.Running).WaitAsync(TestHelpers.Timeout);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync("/api/resources/talker/commands/start", null)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/resources/nobody/commands/start", null)).StatusCode);
    }
}
