namespace BackupWorker.Repositories;

/// <summary>
/// The object was encrypted with another key than the one configured (or is encrypted and no key is configured).
/// The copy may be intact; restoring it needs the right key. Its message never holds a key.
/// </summary>
public sealed class RepositoryKeyException(string message) : Exception(message);
