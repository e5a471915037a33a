using System.Net.Http.Json;
using System.Text.Json;

namespace BackupApi;

public sealed partial class WorkerClient
{
    private static readonly JsonSerializerOptions RestoreJson = new(JsonSerializerDefaults.Web);

    public Task<WorkerResult<RestoreRecord>> RestoreAsync(RestoreRequest request, CancellationToken ct) =>
        SendAsync<RestoreRecord>(new HttpRequestMessage(HttpMethod.Post, "/restores") { Content = JsonContent.Create(request, options: RestoreJson) }, ct);

    public Task<WorkerResult<List<RestoreRecord>>> RestoresAsync(int? limit, CancellationToken ct) =>
        SendAsync<List<RestoreRecord>>(new HttpRequestMessage(HttpMethod.Get, "/restores" + Query(("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)))), ct);

    public Task<WorkerResult<RestoreRecord>> GetRestoreAsync(string id, CancellationToken ct) =>
        SendAsync<RestoreRecord>(new HttpRequestMessage(HttpMethod.Get, "/restores/" + Uri.EscapeDataString(id)), ct);

    public Task<WorkerResult<List<DrillRecord>>> DrillsAsync(string? schedule, string? backupId, int? limit, CancellationToken ct) =>
        SendAsync<List<DrillRecord>>(new HttpRequestMessage(HttpMethod.Get, "/drills" + Query(("schedule", schedule), ("backupId", backupId),
            ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)))), ct);

    public Task<WorkerResult<DrillRecord>> GetDrillAsync(string id, CancellationToken ct) =>
        SendAsync<DrillRecord>(new HttpRequestMessage(HttpMethod.Get, "/drills/" + Uri.EscapeDataString(id)), ct);

    public Task<WorkerResult<BackupDetails>> GetBackupAsync(string id, CancellationToken ct) =>
        SendAsync<BackupDetails>(new HttpRequestMessage(HttpMethod.Get, "/backups/" + Uri.EscapeDataString(id)), ct);

    public Task<WorkerResult<DrillRecord>> DrillAsync(string backupId, string? repository, CancellationToken ct) =>
        SendAsync<DrillRecord>(new HttpRequestMessage(HttpMethod.Post, "/backups/" + Uri.EscapeDataString(backupId) + "/drill" + Query(("repository", repository))), ct);

    public Task<WorkerResult<DrillPolicy>> SetDrillPolicyAsync(string schedule, DrillPolicyRequest request, CancellationToken ct) =>
        SendAsync<DrillPolicy>(new HttpRequestMessage(HttpMethod.Put, "/schedules/" + Uri.EscapeDataString(schedule) + "/drill") { Content = JsonContent.Create(request, options: RestoreJson) }, ct);

    public Task<WorkerResult<DrillPolicy>> GetDrillPolicyAsync(string schedule, CancellationToken ct) =>
        SendAsync<DrillPolicy>(new HttpRequestMessage(HttpMethod.Get, "/schedules/" + Uri.EscapeDataString(schedule) + "/drill"), ct);
}
