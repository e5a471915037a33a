using System.Text.Json.Serialization;

namespace BackupWorker.Backups;

public sealed record BackupMetadata(
    [property: JsonPropertyName("DBName")] string DBName,
    [property: JsonPropertyName("BackupLocation")] string BackupLocation);
