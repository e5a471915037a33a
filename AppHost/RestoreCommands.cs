using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

/// <summary>
/// Dashboard commands on the worker, run through BackupApi as any operator would (its API key, its checks, its
/// record of who asked): restore the newest backup of the how-to's database into a scratch file, and show the drills.
/// </summary>
public static class RestoreCommands
{
    public const string RestoreLatestCommand = "restore-latest-into-scratch";
    public const string ShowDrillsCommand = "show-restore-drills";

    public static IResourceBuilder<ProjectResource> WithRestoreCommands(
        this IResourceBuilder<ProjectResource> worker, IResourceBuilder<ProjectResource> api, IResourceBuilder<ParameterResource> apiKey, string database)
    {
        worker.WithCommand(RestoreLatestCommand, "Restore latest into scratch", async context =>
        {
            using var http = await ClientAsync(api, apiKey, context.CancellationToken);
            using var response = await http.PostAsJsonAsync("/restores", new { database, requestedBy = "Aspire dashboard" }, context.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
            var root = JsonDocument.Parse(body).RootElement;
            if (!response.IsSuccessStatusCode)
                return CommandResults.Failure($"{root.GetProperty("title").GetString()}: {(root.TryGetProperty("detail", out var d) ? d.GetString() : null)}");
            // Accepted (202): the restore runs on in the worker, or waits its turn behind work on the same database
            // (Queued); follow it to its end, as an operator would.
            while (root.GetProperty("outcome").GetString() is "Running" or "Queued")
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), context.CancellationToken);
                body = await http.GetStringAsync(response.Headers.Location, context.CancellationToken);
                root = JsonDocument.Parse(body).RootElement;
            }
            if (root.GetProperty("outcome").GetString() != "Succeeded")
                return CommandResults.Failure($"Restore of backup {root.GetProperty("backupId").GetString()} failed: {root.GetProperty("error").GetString()}");
            return CommandResults.Success(
                $"Restored backup {root.GetProperty("backupId").GetString()} of {database} into {root.GetProperty("target").GetString()}", body, CommandResultFormat.Json);
        }, new CommandOptions
        {
            Description = $"Restore the newest restorable backup of '{database}' into a new file under the worker's restore root (the database itself is not touched).",
            IconName = "ArrowUndo",
            UpdateState = StateOf,
        });

        worker.WithCommand(ShowDrillsCommand, "Show restore drills", async context =>
        {
            using var http = await ClientAsync(api, apiKey, context.CancellationToken);
            var drills = await http.GetFromJsonAsync<JsonElement>("/drills?limit=20", context.CancellationToken);
            var table = new StringBuilder("| started | schedule | backup | outcome | error |\n|---|---|---|---|---|\n");
            foreach (var drill in drills.EnumerateArray())
            {
                table.Append(CultureInfo.InvariantCulture, $"| {drill.GetProperty("startedAt").GetDateTimeOffset():u} | {drill.GetProperty("schedule").GetString()} | ")
                    .Append(CultureInfo.InvariantCulture, $"{drill.GetProperty("backupId").GetString()![..12]} | {drill.GetProperty("outcome").GetString()} | ")
                    .Append(drill.GetProperty("error").GetString()?.Replace('|', '/').Replace('\n', ' ')).Append(" |\n");
            }
            var failed = drills.EnumerateArray().Count(d => d.GetProperty("outcome").GetString() == "Failed");
            return CommandResults.Success($"{drills.GetArrayLength()} recent drills, {failed} failed", table.ToString(), CommandResultFormat.Markdown);
        }, new CommandOptions
        {
            Description = "The 20 most recent restore drills and their outcomes (a failed drill marks its backup not restorable).",
            IconName = "ClipboardTaskListLtr",
            UpdateState = StateOf,
        });
        return worker;
    }

    private static ResourceCommandState StateOf(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.HealthStatus == HealthStatus.Healthy ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static async Task<HttpClient> ClientAsync(IResourceBuilder<ProjectResource> api, IResourceBuilder<ParameterResource> apiKey, CancellationToken cancellationToken)
    {
        // A restore of a large database takes a while; the dashboard shows the command running meanwhile.
        var http = new HttpClient { BaseAddress = new Uri(api.GetEndpoint("http").Url), Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.Add("X-Api-Key", await apiKey.Resource.GetValueAsync(cancellationToken));
        return http;
    }
}
