using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;

namespace AppHost.Tests;

/// <summary>
/// The whole application with the offsite repository on (<c>--AppHost:Offsite=true</c>: Azurite as a resource, the
/// worker handed its connection string and key): a schedule naming local and offsite makes a backup verified in both,
/// and BackupApi restores it from the offsite copy. The run's apps are in the trust domain example.org, not Dapr's
/// default: their certificates, their Configurations and the scheduler all agree on it.
/// </summary>
[Collection(DemoAppCollection.Name)]
public sealed class OffsiteAppTests(DemoAppFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);

    [AzuriteFact]
    public async Task A_schedule_naming_offsite_makes_backups_verified_in_Azurite_that_restore_from_there()
    {
        var app = fixture.Running;
        var key = fixture.OffsiteKey;
        using var http = app.CreateHttpClient("backupapi");
        Assert.Contains("trustDomain: 'example.org'", File.ReadAllText(Path.Combine(app.DataDirectory, "dapr-config", "backupworker.yaml")), StringComparison.Ordinal);

        using (var created = await http.PostAsJsonAsync("/schedules", new { name = "offsite-nightly", database = "my-prod-db", schedule = "@daily", repositories = new[] { "local", "offsite" } }))
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var schedule = await http.GetJsonAsync("/schedules/offsite-nightly");
        Assert.Equal(["local", "offsite"], schedule.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()));

        using var ran = await http.PostAsync("/schedules/offsite-nightly/run", null);
        var run = await ran.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(ran.IsSuccessStatusCode, run.ToString());
        var id = run.GetProperty("id").GetString()!;

        // Listed with its copy in each repository, verified in both: the backup counts as made. Nothing of the key is
        // in what the API shows.
        var backup = (await http.GetJsonAsync("/backups?schedule=offsite-nightly"))[0];
        Assert.DoesNotContain(key, backup.ToString(), StringComparison.Ordinal);
        Assert.Equal(id, backup.GetProperty("id").GetString());
        Assert.True(backup.GetProperty("complete").GetBoolean(), backup.ToString());
        var offsite = backup.GetProperty("copies").EnumerateArray().Single(c => c.GetProperty("repository").GetString() == "offsite");
        Assert.Equal("Verified", offsite.GetProperty("state").GetString());
        Assert.True(offsite.GetProperty("encrypted").GetBoolean(), offsite.ToString());

        using var restoring = await http.PostAsJsonAsync("/restores", new { backupId = id, repository = "offsite", target = "offsite/restored.db" });
        Assert.True(restoring.StatusCode == HttpStatusCode.Accepted, await restoring.Content.ReadAsStringAsync());
        var restoreId = (await restoring.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        var restored = await Poll.UntilAsync(async () =>
        {
            var record = await http.GetJsonAsync($"/restores/{restoreId}");
            return record.GetProperty("outcome").GetString() is "Running" or "Queued" ? (JsonElement?)null : record;
        }, Bound, "the restore from offsite to end");
        Assert.True(restored.GetProperty("outcome").GetString() == "Succeeded", restored.ToString());
        Assert.Equal("offsite", restored.GetProperty("repository").GetString());
        Assert.True(File.Exists(Path.Combine(app.DataDirectory, "backupworker", "restores", "offsite", "restored.db")));
    }
}
