using Microsoft.Extensions.DependencyInjection;

namespace AppHost.Tests;

/// <summary>What the AppHost's model gives each app, read from the model without starting anything.</summary>
public class AppHostModelTests
{
    private const string Password = "model-test-password-5c1e";

    private static async Task<(DistributedApplication App, Dictionary<string, object> Worker, Dictionary<string, object> Api)> BuildAsync(params string[] args)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, $"--AppHost:DataDirectory={Path.GetTempPath()}", $"--Parameters:backupapi-key={RunningApp.ApiKey}"],
            (options, _) => options.DisableDashboard = true);
        var app = await builder.BuildAsync();
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();
        var execution = app.Services.GetRequiredService<DistributedApplicationExecutionContext>();
        async Task<Dictionary<string, object>> EnvironmentOf(string name)
        {
            var context = new EnvironmentCallbackContext(execution, new Dictionary<string, object>());
            foreach (var callback in model.Resources.Single(r => r.Name == name).Annotations.OfType<EnvironmentCallbackAnnotation>())
                await callback.Callback(context);
            return context.EnvironmentVariables;
        }
        return (app, await EnvironmentOf("backupworker"), await EnvironmentOf("backupapi"));
    }

    [Fact]
    public async Task A_database_connection_string_reaches_the_worker_only_as_a_secret_connection_string()
    {
        var (app, worker, _) = await BuildAsync(
            "--Backup:Databases:orders:Provider=postgres",
            $"--Backup:Databases:orders:ConnectionString=Host=127.0.0.1;Username=postgres;Password={Password};Database=orders",
            $"--ConnectionStrings:billing=Host=127.0.0.1;Username=postgres;Password={Password}2;Database=billing",
            "--Backup:Databases:billing:Provider=postgres");
        await using var _ = app;

        // No plain value anywhere in the worker's environment holds a password (the dashboard lists these values).
        Assert.DoesNotContain(worker, e => e.Value is string text && text.Contains(Password, StringComparison.Ordinal));
        Assert.Equal("postgres", worker["Backup__Databases__orders__Provider"]);
        Assert.False(worker.ContainsKey("Backup__Databases__orders__ConnectionString"));
        foreach (var (database, expected) in new[] { ("orders", $"Host=127.0.0.1;Username=postgres;Password={Password};Database=orders"), ("billing", $"Host=127.0.0.1;Username=postgres;Password={Password}2;Database=billing") })
        {
            var reference = Assert.IsType<ConnectionStringReference>(worker[$"ConnectionStrings__{database}"]);
            var parameter = Assert.IsAssignableFrom<ParameterResource>(reference.Resource);
            Assert.True(parameter.Secret, database);
            Assert.Equal(expected, await parameter.GetValueAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task The_apps_run_in_the_apphosts_environment_not_their_launch_profiles()
    {
        var (app, worker, api) = await BuildAsync("--environment=Production");
        await using var _ = app;

        Assert.Equal("Production", worker["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("Production", api["ASPNETCORE_ENVIRONMENT"]);
    }
}
