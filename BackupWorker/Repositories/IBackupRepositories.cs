using System.Diagnostics.CodeAnalysis;

namespace BackupWorker.Repositories;

/// <summary>The object-storage repositories configured for this worker (the local backup root is not among them).</summary>
public interface IBackupRepositories
{
    IReadOnlyCollection<string> Names { get; }

    bool TryGet(string name, [MaybeNullWhen(false)] out IBackupRepository repo);
}
