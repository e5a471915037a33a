using Microsoft.Extensions.DependencyInjection;

namespace AppHost.Tests;

/// <summary>What the AppHost's model gives each app, read from the model without starting anything.</summary>
public class AppHostModelTests
{
    private const string Password = "model-test-password-5c1e";

    /// <summary>
    /// The apps' environments in the AppHost's model as its Program left it. Not built: disposing a built, never-started
    /// app waits 30 s for the AppHost's own thread when that thread has not yet reached Run().
    /// </summary>
    private static async Task<(IDistributedApplicationTestingBuilder AppHost, Dictionary<string, object> Worker, Dictionary<string, object> Api)> ModelAsync(params string[] args)
    {
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, $"--AppHost:DataDirectory={Path.GetTempPath()}", $"--Parameters:backupapi-key={RunningApp.ApiKey}"],
            (options, _) => options.DisableDashboard = true);
        async Task<Dictionary<string, object>> EnvironmentOf(string name)
        {
            var context = new EnvironmentCallbackContext(appHost.ExecutionContext, new Dictionary<string, object>());
            foreach (var callback in appHost.Resources.Single(r => r.Name == name).Annotations.OfType<EnvironmentCallbackAnnotation>())
                await callback.Callback(context);
            return context.EnvironmentVariables;
        }
        return (appHost, await EnvironmentOf("backupworker"), await EnvironmentOf("backupapi"));
    }

    [Fact]
    public async Task A_database_connection_string_reaches_the_worker_only_as_a_secret_connection_string()
    {
        var (appHost, worker, _) = await ModelAsync(
            "--Backup:Databases:orders:Provider=postgres",
            $"--Backup:Databases:orders:ConnectionString=Host=127.0.0.1;Username=postgres;Password={Password};Database=orders",
            $"--ConnectionStrings:billing=Host=127.0.0.1;Username=postgres;Password={Password}2;Database=billing",
            "--Backup:Databases:billing:Provider=postgres");
        await using var _ = appHost;

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
        var (appHost, worker, api) = await ModelAsync("--environment=Production");
        await using var _ = appHost;

        Assert.Equal("Production", worker["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal("Production", api["ASPNETCORE_ENVIRONMENT"]);
    }
}
