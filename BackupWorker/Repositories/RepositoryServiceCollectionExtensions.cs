using BackupWorker.Repositories.AzureBlob;
using BackupWorker.Repositories.S3;
using Microsoft.Extensions.Options;

namespace BackupWorker.Repositories;

public static class RepositoryServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IBackupRepositories"/> from <c>Backup:Repositories</c> and <c>ConnectionStrings</c>;
    /// a configuration that cannot work stops the host at start.
    /// </summary>
    public static IServiceCollection AddBackupRepositories(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BackupRepositoriesOptions>()
            .Bind(configuration.GetSection("Backup"))
            .PostConfigure(o => BackupRepositoriesOptions.AddConnectionStrings(o, configuration))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackupRepositoriesOptions>, BackupRepositoriesValidator>();
        services.AddSingleton<IBackupRepositories>(sp => new BackupRepositories(
            sp.GetRequiredService<IOptions<BackupRepositoriesOptions>>(),
            (name, options) => string.Equals(options.Kind, RepositoryKinds.S3, StringComparison.OrdinalIgnoreCase)
                ? new S3Repository(name, options, sp.GetRequiredService<ILogger<S3Repository>>())
                : new AzureBlobRepository(name, options, sp.GetRequiredService<ILogger<AzureBlobRepository>>())));
        return services;
    }
}
