using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Platform.Jobs.Models;

namespace BackupWorker.Tests;

/// <summary>The how-to's scenario on a fresh start, with the worker up before its sidecar.</summary>
public class DemoScenarioTests
{
    [Fact]
    public async Task First_start_schedules_prod_db_backup_with_the_how_to_payload_and_backs_up()
    {
        await using var stack = await AppStack.StartAsync(new Dictionary<string, string?>
        {
            ["Demo__Enabled"] = "true",
            ["Demo__Schedule"] = "@every 1s",
            ["Demo__Repeats"] = "2",
        }, workerBeforeSidecar: true);

        await stack.WaitForWorkerLinesAsync(l => l.Contains("of schedule prod-db-backup succeeded", StringComparison.Ordinal), 1, TimeSpan.FromSeconds(90));
        await stack.WaitForJobGoneAsync("prod-db-backup", TimeSpan.FromSeconds(90));   // both repeats used: the counts below are final

        Assert.Contains(stack.Worker.Output, l => l.Contains("Sidecar not ready for the demo job", StringComparison.Ordinal));
        // Each of the two ticks made a backup, or, delivered late on a loaded machine, was coalesced into a backup that
        // started after it (which already holds its data): two ticks accounted for, one backup file per backup made.
        var made = stack.Worker.Output.Count(l => l.Contains("of schedule prod-db-backup succeeded", StringComparison.Ordinal));
        var coalesced = stack.Worker.Output.Count(l => l.Contains("Job trigger of schedule prod-db-backup received", StringComparison.Ordinal) && l.Contains("coalesced", StringComparison.Ordinal));
        Assert.Equal(2, made + coalesced);
        var backups = await stack.ApiClient.GetFromJsonAsync<JsonElement[]>("/backups?schedule=prod-db-backup");
        Assert.Equal(made, backups!.Length);
        Assert.All(backups, b => Assert.StartsWith(Path.Combine(stack.DataDirectory, "backups", "my-prod-db"), b.GetProperty("file").GetString()));
        var schedule = await stack.ApiClient.GetFromJsonAsync<JsonElement>("/schedules/prod-db-backup");
        Assert.Equal("my-prod-db", schedule.GetProperty("database").GetString());
        Assert.Equal(5, schedule.GetProperty("retention").GetProperty("keepLast").GetInt32());
    }

    [Fact]
    public async Task The_demo_job_carries_exactly_the_how_to_payload()
    {
        await using var stack = await AppStack.StartAsync(new Dictionary<string, string?>
        {
            ["Demo__Enabled"] = "true",
            ["Demo__Schedule"] = "@yearly",
        });
        await stack.Worker.WaitForOutputAsync(l => l.Contains("Scheduled job prod-db-backup", StringComparison.Ordinal), TimeSpan.FromSeconds(60));

        using var jobs = stack.WorkerJobsClient();
        var job = await jobs.GetJobAsync("prod-db-backup");

        Assert.Equal("@yearly", job.Schedule.ExpressionValue);
        Assert.Equal(10, job.RepeatCount);
        Assert.Equal("{\"task\":\"db-backup\",\"metadata\":{\"DBName\":\"my-prod-db\",\"BackupLocation\":\"my-prod-db\"}}",
            System.Text.Encoding.UTF8.GetString(job.Payload!));
        Assert.Equal(new Platform.Jobs.Models.Responses.ConfiguredConstantFailurePolicy(true, 120, TimeSpan.FromSeconds(5)), job.FailurePolicy);
    }
}
