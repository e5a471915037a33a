using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using TestSupport;

namespace AppHost.Tests;

/// <summary>Restores in the whole application: through BackupApi, and from the worker's dashboard command.</summary>
[Collection(DemoAppCollection.Name)]
public sealed class RestoreFlowTests(DemoAppFixture fixture)
{
    private static readonly TimeSpan TriggerTimeout = TimeSpan.FromSeconds(60);
    private RunningApp App => fixture.Running;
    private string RestoreRoot => Path.Combine(App.DataDirectory, "backupworker", "restores");

    private async Task<JsonElement> NewestHowToBackupAsync(HttpClient http) =>
        await Poll.UntilAsync(async () =>
        {
            var list = await http.GetJsonAsync("/backups?schedule=prod-db-backup");
            return list.GetArrayLength() >= 1 ? list[0] : (JsonElement?)null;
        }, TriggerTimeout, "a backup of prod-db-backup");

    /// <summary>Every row of every table, in rowid order.</summary>
    private static List<string> Rows(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        var rows = new List<string>();
        foreach (var table in new[] { "customers", "orders" })
        {
            using var select = connection.CreateCommand();
            select.CommandText = $"SELECT * FROM {table} ORDER BY rowid";
            using var reader = select.ExecuteReader();
            while (reader.Read()) rows.Add(table + ":" + string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i))));
        }
        return rows;
    }

    [Fact]
    public async Task A_backup_of_the_how_to_job_restores_through_BackupApi_with_its_rows()
    {
        using var http = App.CreateHttpClient("backupapi");
        var backup = await NewestHowToBackupAsync(http);
        var id = backup.GetProperty("id").GetString()!;

        using var response = await http.PostAsJsonAsync("/restores", new { backupId = id, target = "whole-app/restored.db" });

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        var restore = JsonDocument.Parse(body).RootElement;
        var target = Path.Combine(RestoreRoot, "whole-app", "restored.db");
        Assert.Equal(target, restore.GetProperty("target").GetString());
        // Accepted: polled at its Location until it has ended.
        var listed = await Poll.UntilAsync(async () =>
        {
            var record = await http.GetJsonAsync(response.Headers.Location!.OriginalString);
            return record.GetProperty("outcome").GetString() is "Running" or "Queued" ? (JsonElement?)null : record;
        }, TriggerTimeout, "the restore to end");
        Assert.Equal("Succeeded", listed.GetProperty("outcome").GetString());
        Assert.Equal("operator", listed.GetProperty("requestedBy").GetString());
        var rows = Rows(target);
        Assert.Equal(250, rows.Count);
        Assert.Equal(Rows(backup.GetProperty("file").GetString()!), rows);
    }

    [Fact]
    public async Task The_workers_dashboard_command_restores_the_latest_backup_into_scratch_and_shows_drills()
    {
        using var http = App.CreateHttpClient("backupapi");
        await NewestHowToBackupAsync(http);
        var commands = App.App.Services.GetRequiredService<ResourceCommandService>();

        var result = await commands.ExecuteCommandAsync("backupworker", global::RestoreCommands.RestoreLatestCommand);

        Assert.True(result.Success, result.Message);
        var restore = (await http.GetJsonAsync("/restores?limit=1"))[0];
        Assert.Equal("operator (Aspire dashboard)", restore.GetProperty("requestedBy").GetString());
        var target = restore.GetProperty("target").GetString()!;
        Assert.Contains(target, result.Message);
        Assert.StartsWith(RestoreRoot + Path.DirectorySeparatorChar, target, StringComparison.Ordinal);
        Assert.Equal(250, Rows(target).Count);

        // The how-to's job drills every 5th backup (Demo:DrillEvery); the command shows the outcomes.
        var drill = await Poll.UntilAsync(async () =>
        {
            var list = await http.GetJsonAsync("/drills?schedule=prod-db-backup");
            return list.GetArrayLength() >= 1 && list[0].GetProperty("outcome").GetString() is not ("Running" or "Queued") ? list[0] : (JsonElement?)null;
        }, TriggerTimeout, "a finished drill of prod-db-backup");
        Assert.Equal("Succeeded", drill.GetProperty("outcome").GetString());
        Assert.Equal("every 5", drill.GetProperty("trigger").GetString());
        var drills = await commands.ExecuteCommandAsync("backupworker", global::RestoreCommands.ShowDrillsCommand);
        Assert.True(drills.Success, drills.Message);
        Assert.Matches("^[1-9][0-9]* recent drills, 0 failed$", drills.Message);
    }
}
