namespace BackupWorker.Repositories;

/// <summary>The repositories part of section <c>Backup</c>.</summary>
public sealed class BackupRepositoriesOptions
{
    /// <summary>The name the local backup root goes by; no object-storage repository may take it.</summary>
    public const string LocalName = "local";

    public Dictionary<string, BackupRepositoryOptions> Repositories { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Fills each repository's connection string from <c>ConnectionStrings:&lt;name&gt;</c>.</summary>
    public static void AddConnectionStrings(BackupRepositoriesOptions options, IConfiguration configuration)
    {
        foreach (var (name, repository) in options.Repositories)
            repository.ConnectionString = configuration.GetConnectionString(name);
    }
}
