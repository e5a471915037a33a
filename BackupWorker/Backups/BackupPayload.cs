using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BackupWorker.Backups;

/// <summary>The job payload of Dapr's how-to: <c>{"task":"db-backup","metadata":{"DBName":"..","BackupLocation":".."}}</c>.</summary>
public sealed record BackupPayload(
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("metadata")] BackupMetadata Metadata)
{
    public const string DbBackupTask = "db-backup";

    public static BackupPayload ForDatabase(string database, string location) => new(DbBackupTask, new BackupMetadata(database, location));

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    /// <summary>Reads a payload; a JSON string holding the JSON (double-encoded by some clients) is unwrapped.</summary>
    public static bool TryParse(ReadOnlySpan<byte> bytes, out BackupPayload? payload, out string error)
    {
        payload = null;
        try
        {
            using var document = JsonDocument.Parse(bytes.ToArray());
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.String) return TryParse(Encoding.UTF8.GetBytes(root.GetString()!), out payload, out error);
            payload = root.Deserialize<BackupPayload>(JsonOptions);
        }
        catch (JsonException e)
        {
            error = "The job payload is not valid JSON: " + e.Message;
            return false;
        }
        if (payload?.Metadata is null || string.IsNullOrWhiteSpace(payload.Metadata.DBName))
        {
            error = "The job payload has no metadata.DBName.";
            return false;
        }
        if (payload.Task != DbBackupTask)
        {
            error = $"The job payload's task is '{payload.Task}', but this worker only runs '{DbBackupTask}'.";
            return false;
        }
        error = "";
        return true;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = false };
}
