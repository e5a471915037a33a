using Platform.Hosting;
using Platform.Hosting.Testing;

namespace AppHost.Tests;

/// <summary>The testing entry point builds the AppHost's own model (its Program), with test defaults and overrides.</summary>
public sealed class TestingBuilderTests
{
    [Fact]
    public async Task CreateAsync_captures_the_AppHost_model_from_its_Program()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>().WaitAsync(TestHelpers.Timeout);

        Assert.Equal(
            ["backupapi", "backupapi-dapr", "backupworker", "backupworker-dapr", "scheduler"],
            builder.Resources.Select(r => r.Name).Order());
        Assert.Equal("Scheduler", builder.Resources.Single(r => r.Name == "scheduler").ResourceType);
        Assert.Equal("DaprSidecar", builder.Resources.Single(r => r.Name == "backupapi-dapr").ResourceType);
        var api = Assert.IsType<ProjectResource>(builder.Resources.Single(r => r.Name == "backupapi"));
        Assert.EndsWith("BackupApi.dll", api.Metadata.TargetPath, StringComparison.Ordinal);
        Assert.True(File.Exists(api.Metadata.TargetPath));
        Assert.StartsWith(Path.GetTempPath(), builder.DataDirectory, StringComparison.Ordinal);
        Assert.EndsWith("AppHost", builder.AppHostDirectory, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arguments_and_options_override_the_AppHost_settings()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "apphost-args-" + Guid.NewGuid().ToString("N"));
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--data-dir", dataDir, "--Demo:Schedule=@every 3s"], o => o.DisableDashboard = false).WaitAsync(TestHelpers.Timeout);

        Assert.Equal(dataDir, builder.DataDirectory);
        Assert.Equal("@every 3s", builder.Configuration["Demo:Schedule"]);
        var app = await builder.BuildAsync();
        Assert.Contains(app.Resources, r => r.Name == "dashboard");
    }

    [Fact]
    public async Task Parallel_builders_get_separate_data_directories()
    {
        var builders = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>()));
        try
        {
            Assert.Equal(3, builders.Select(b => b.DataDirectory).Distinct().Count());
        }
        finally
        {
            foreach (var b in builders) await b.DisposeAsync();
        }
    }
}
