using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace BackupWorker.Repositories;

/// <summary>The configured repositories, each built once from its (validated) options.</summary>
internal sealed class BackupRepositories : IBackupRepositories
{
    private readonly Dictionary<string, IBackupRepository> _repositories = new(StringComparer.OrdinalIgnoreCase);

    public BackupRepositories(IOptions<BackupRepositoriesOptions> options, Func<string, BackupRepositoryOptions, IBackupRepository> create)
    {
        foreach (var (name, repo) in options.Value.Repositories) _repositories[name] = create(name, repo);
        Names = _repositories.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyCollection<string> Names { get; }

    public bool TryGet(string name, [MaybeNullWhen(false)] out IBackupRepository repo) => _repositories.TryGetValue(name, out repo);
}
