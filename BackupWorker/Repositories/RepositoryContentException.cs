namespace BackupWorker.Repositories;

/// <summary>
/// The object is missing, truncated, corrupted or tampered with: this copy is not restorable. Its message never holds
/// the key.
/// </summary>
public sealed class RepositoryContentException(string message, Exception? inner = null) : Exception(message, inner);
