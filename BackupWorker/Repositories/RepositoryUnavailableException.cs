namespace BackupWorker.Repositories;

/// <summary>
/// The repository could not be reached or refused us: down, too slow, throttled, or wrong credentials. Says nothing
/// about the object; the operation may succeed later.
/// </summary>
public sealed class RepositoryUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
