using BackupWorker.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BackupWorker.Tests;

public class CatalogHealthCheckTests
{
    [Fact]
    public async Task Healthy_while_the_catalog_reads_and_unhealthy_once_it_cannot()
    {
        using var engine = new EngineFixture();
        var check = new CatalogHealthCheck(engine.Catalog);
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        Directory.Delete(engine.DataDirectory, recursive: true);

        var result = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.StartsWith("The backup catalog cannot be read", result.Description);
    }
}
