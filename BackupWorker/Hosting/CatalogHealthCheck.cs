using BackupWorker.Backups;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BackupWorker.Hosting;

/// <summary>Ready only while the catalog can be read: without it no run can be recorded, so triggers would only fail.</summary>
public sealed class CatalogHealthCheck(BackupCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            catalog.Ping();
            return Task.FromResult(HealthCheckResult.Healthy());
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("The backup catalog cannot be read: " + e.Message, e));
        }
    }
}
