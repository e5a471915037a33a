using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AppHost.Tests;

/// <summary>
/// The Aspire CLI itself driving the app, as a developer, a script or an agent would: <c>aspire start</c>, then
/// <c>describe</c>, <c>resource</c>, <c>wait</c> and <c>stop</c> on one started app, in declaration order.
/// </summary>
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class AspireCliTests(AspireCliAppFixture fixture) : IClassFixture<AspireCliAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Describe_lists_the_how_tos_job_with_its_state_schedule_progress_and_next_due()
    {
        var job = await TestSupport.Poll.UntilAsync(async () =>
            (await fixture.TryDescribeAsync()).FirstOrDefault(r => Name(r) == "prod-db-backup" && Count(r) >= 1) is { ValueKind: JsonValueKind.Object } found ? found.Clone() : (JsonElement?)null,
            Timeout, "aspire describe listing prod-db-backup with a trigger");

        Assert.Equal("DaprJob", job.GetProperty("resourceType").GetString());
        Assert.Equal("Scheduled", job.GetProperty("state").GetString());
        Assert.Matches(@"^@every 2s · \d+ of 1000 fired · next \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$", job.GetProperty("source").GetString());
        var properties = job.GetProperty("properties");
        Assert.Equal("@every 2s", properties.GetProperty("Schedule").GetString());
        Assert.Equal(1000 - Count(job), int.Parse(properties.GetProperty("Repeats left").GetString()!, CultureInfo.InvariantCulture));
        Assert.True(DateTimeOffset.Parse(properties.GetProperty("Next due").GetString()!, CultureInfo.InvariantCulture)
                    > DateTimeOffset.Parse(properties.GetProperty("Last trigger").GetString()!, CultureInfo.InvariantCulture));
        Assert.True(job.GetProperty("commands").TryGetProperty("delete", out _));

        // The table a person reads shows it too.
        var table = await fixture.CliAsync("describe");
        Assert.Contains(table.StandardOutput.Split('\n'), line => line.Contains("prod-db-backup", StringComparison.Ordinal)
            && line.Contains("DaprJob", StringComparison.Ordinal) && line.Contains("Scheduled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resource_delete_removes_a_job_only_when_confirmed_and_the_backups_stay()
    {
        using var api = new HttpClient { BaseAddress = fixture.BackupApi };
        api.DefaultRequestHeaders.Add("X-Api-Key", RunningApp.ApiKey);
        Assert.Equal(HttpStatusCode.Created, (await api.PostAsJsonAsync("/schedules", new { name = "cli-nightly", database = "my-prod-db", schedule = "0 0 2 * * *" })).StatusCode);
        await TestSupport.Poll.UntilAsync(async () => (await fixture.TryDescribeAsync()).Any(r => Name(r) == "cli-nightly"), Timeout, "cli-nightly listed");
        var backupsBefore = BackupFiles();
        Assert.NotEmpty(backupsBefore);

        // Unconfirmed, as "No" in the dashboard's dialog: nothing is deleted.
        var unconfirmed = await fixture.CliAsync("resource", "cli-nightly", "delete");
        Assert.NotEqual(0, unconfirmed.ExitCode);
        var declined = await fixture.CliAsync("resource", "cli-nightly", "delete", "--", "--confirm", "false");
        Assert.NotEqual(0, declined.ExitCode);
        Assert.NotEqual(JsonValueKind.Null, (await api.GetJsonAsync("/schedules/cli-nightly")).GetProperty("job").ValueKind);

        var deleted = await fixture.CliAsync("resource", "cli-nightly", "delete", "--", "--confirm", "true");
        Assert.True(deleted.ExitCode == 0, deleted.Output);
        var down = await fixture.CliAsync("wait", "cli-nightly", "--status", "down", "--timeout", "30");
        Assert.True(down.ExitCode == 0, down.Output);
        Assert.DoesNotContain(await fixture.DescribeAsync(), r => Name(r) == "cli-nightly");
        Assert.Equal(JsonValueKind.Null, (await api.GetJsonAsync("/schedules/cli-nightly")).GetProperty("job").ValueKind);
        // Deleting a job deletes no backup: every backup there before is there after, the how-to's job runs on.
        Assert.Empty(backupsBefore.Except(BackupFiles()));
        Assert.Contains(await fixture.DescribeAsync(), r => Name(r) == "prod-db-backup");
    }

    [Fact]
    public async Task The_workers_restore_commands_run_from_aspire_resource()
    {
        var restore = await fixture.CliAsync("resource", "backupworker", global::RestoreCommands.RestoreLatestCommand);
        Assert.True(restore.ExitCode == 0, restore.Output);
        // The restored file is new, under the worker's restore root; the database itself is untouched.
        var target = JsonDocument.Parse(restore.StandardOutput[restore.StandardOutput.IndexOf('{')..]).RootElement.GetProperty("target").GetString()!;
        Assert.StartsWith(Path.Combine(fixture.DataDirectory, "backupworker", "restores") + Path.DirectorySeparatorChar, target, StringComparison.Ordinal);
        Assert.True(File.Exists(target));

        var drills = await fixture.CliAsync("resource", "backupworker", global::RestoreCommands.ShowDrillsCommand);
        Assert.True(drills.ExitCode == 0, drills.Output);
        Assert.Contains("outcome", drills.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_leaves_no_process_of_the_run()
    {
        fixture.RememberAll();
        Assert.Contains(fixture.AppHostPid, fixture.Remembered);
        Assert.True(fixture.Remembered.Count >= 6, string.Join(",", fixture.Remembered));

        var stop = await fixture.CliAsync("stop");
        fixture.Stopped = true;
        Assert.True(stop.ExitCode == 0, stop.Output);
        // DCP ends the resources' processes in the background after the AppHost: bounded, no fixed delay.
        await TestSupport.Poll.UntilAsync(() => Task.FromResult(fixture.Alive().Count == 0), AspireCliAppFixture.ExitTimeout,
            "every process of the run exited");
    }

    private static string? Name(JsonElement resource) => resource.GetProperty("displayName").GetString();

    private static int Count(JsonElement job)
        => job.GetProperty("properties").TryGetProperty("Triggers so far", out var count) ? int.Parse(count.GetString()!, CultureInfo.InvariantCulture) : -1;

    private string[] BackupFiles()
        => Directory.GetFiles(Path.Combine(fixture.DataDirectory, "backupworker", "backups"), "*", SearchOption.AllDirectories);
}
