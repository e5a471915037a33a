using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Hosting.Dapr;

namespace AppHost.Tests;

/// <summary>The scheduler's jobs as child resources of the scheduler in the dashboard's model, with a Delete command.</summary>
[Collection(DemoAppCollection.Name)]
public sealed class JobsViewTests(DemoAppFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private RunningApp App => fixture.Running;

    [Fact]
    public async Task Each_job_is_a_child_of_the_scheduler_with_its_progress_and_it_stays_current()
    {
        Assert.True(App.Notifications.TryGetCurrentState("scheduler", out var scheduler));
        var first = await WaitForJobAsync("prod-db-backup", e => Count(e) >= 1);
        Assert.Equal(DaprJobResource.ResourceTypeName, first.Snapshot.ResourceType);
        Assert.Equal(scheduler.ResourceId, Property(first, "resource.parentName"));
        Assert.Equal("backupworker", Property(first, "App id"));
        Assert.Equal("@every 2s", Property(first, "Schedule"));
        Assert.Equal($"{DemoAppFixture.DemoRepeats}", Property(first, "Repeats"));
        Assert.Equal("success", Property(first, "Last result"));
        Assert.True(DateTimeOffset.Parse(Property(first, "Next due")!, System.Globalization.CultureInfo.InvariantCulture)
                    > DateTimeOffset.Parse(Property(first, "Last trigger")!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Matches(@"^@every 2s · \d+ of 1000 fired · next \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", Property(first, "resource.source"));
        Assert.Contains(first.Snapshot.Commands, c => c.Name == DaprJobResource.DeleteCommandName && c.State == ResourceCommandState.Enabled);

        // The next trigger shows without anyone asking: the count goes up and repeats left go down.
        var later = await WaitForJobAsync("prod-db-backup", e => Count(e) > Count(first));
        Assert.Equal(DemoAppFixture.DemoRepeats - Count(later), int.Parse(Property(later, "Repeats left")!, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Delete_removes_the_job_from_the_scheduler_and_hides_it()
    {
        using var http = App.CreateHttpClient("backupapi");
        var create = await http.PostAsJsonAsync("/schedules", new { name = "to-delete", database = "my-prod-db", schedule = "@every 1h" });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var shown = await WaitForJobAsync("to-delete", e => !e.Snapshot.IsHidden);

        var commands = App.App.Services.GetRequiredService<ResourceCommandService>();
        var result = await commands.ExecuteCommandAsync(shown.ResourceId, DaprJobResource.DeleteCommandName);
        Assert.True(result.Success, result.Message);

        await WaitForJobAsync("to-delete", e => e.Snapshot.IsHidden);
        var schedule = await http.GetJsonAsync("/schedules/to-delete");
        Assert.Equal(JsonValueKind.Null, schedule.GetProperty("job").ValueKind);

        // Created again under the same name: shown again, as the same resource (Aspire refuses a second one per id).
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/schedules/to-delete")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/schedules", new { name = "to-delete", database = "my-prod-db", schedule = "@every 1h" })).StatusCode);
        var back = await WaitForJobAsync("to-delete", e => !e.Snapshot.IsHidden);
        Assert.Same(shown.Resource, back.Resource);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/schedules/to-delete")).StatusCode);
    }

    private async Task<ResourceEvent> WaitForJobAsync(string name, Func<ResourceEvent, bool> predicate)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await foreach (var e in App.Notifications.WatchAsync(cts.Token))
            if (e.Resource is DaprJobResource job && job.Name == name && predicate(e)) return e;
        throw new TimeoutException(name);
    }

    private static int Count(ResourceEvent e) => int.Parse(Property(e, "Triggers so far")!, System.Globalization.CultureInfo.InvariantCulture);

    private static string? Property(ResourceEvent e, string name) => e.Snapshot.Properties.SingleOrDefault(p => p.Name == name)?.Value?.ToString();
}
