using BackupWorker.Backups;

namespace BackupWorker.Tests;

/// <summary>What a second worker process on an <see cref="OffsiteEngine"/>'s data directory copies and runs with.</summary>
internal sealed record OffsitePeer(ClaimOwner Owner, RepositoryCopyCatalog Copies, RepositoryCopier Copier, CopyRetryService Retry, BackupRunner Runner);
