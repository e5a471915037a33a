using Grpc.Core;
using Microsoft.Extensions.Logging;
using Platform.Security;

namespace Platform.Hosting.Dapr.EtcdImport;

/// <summary>
/// Carries the scheduler's jobs from open etcd directories set aside (<see cref="EtcdDataDirectory"/>) into the locked
/// cluster, before any replica serves: the old members are started plainly on loopback and read, then stopped; each job
/// absent from the locked cluster is put there, then a marker key; then the directory is renamed <c>…-imported</c>
/// (kept, private). A crash anywhere leaves the directory pending, and the next start does the same again: the marker
/// makes it a no-op once complete, and put-if-absent makes a partial run's redo add only what is missing.
/// </summary>
internal static partial class EtcdOpenDataImport
{
    private static readonly TimeSpan QuorumTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Imports every pending directory; throws, naming the directory kept and what to do, when one cannot be.</summary>
    /// <param name="afterEach">Test seam: awaited after each job's transaction with the number put so far.</param>
    public static async Task RunAsync(string etcdDirectory, string etcdProgram, string clusterToken, Uri lockedEndpoint, IdentityFiles client,
        ILogger logger, CancellationToken cancellationToken, Func<int, Task>? afterEach = null)
    {
        foreach (var open in EtcdDataDirectory.PendingImports(etcdDirectory))
        {
            try
            {
                if (!File.Exists(etcdProgram)) throw new InvalidOperationException(DaprHostingExtensions.EtcdMissingMessage(etcdProgram));
                var entries = await ReadOpenAsync(etcdProgram, open, clusterToken, cancellationToken);
                int? put;
                using (var locked = EtcdKvChannel.Locked(lockedEndpoint, client))
                    put = await SchedulerKeyCopy.ImportAsync(locked.Kv, entries, Path.GetFileName(open), afterEach, cancellationToken);
                var kept = EtcdDataDirectory.CompleteImport(open);
                if (put is { } count) LogImported(logger, count, entries.Count, open, kept);
                else LogImportedBefore(logger, open, kept);
            }
            catch (Exception e) when (e is InvalidOperationException or RpcException or IOException or UnauthorizedAccessException
                or System.Security.Cryptography.CryptographicException && !cancellationToken.IsCancellationRequested)
            {
                var message =
                    $"The scheduler's jobs kept in {open} (written while the etcd cluster was open) are not imported into the locked cluster: {e.Message} " +
                    "The directory is kept as it was, and the scheduler replicas do not start, so that no backup schedule is taken for ended. " +
                    $"Fix the cause and start the AppHost again; to start the locked cluster without those jobs instead, delete {Path.Combine(open, EtcdDataDirectory.PendingImportFileName)}.";
                LogImportFailed(logger, message);
                throw new InvalidOperationException(message, e);
            }
        }
    }

    /// <summary>Every job of the open directory, read from its members started for the purpose; a member port taken meanwhile is tried once more.</summary>
    private static async Task<IReadOnlyList<SchedulerKeyCopy.Entry>> ReadOpenAsync(string etcdProgram, string open, string clusterToken,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var members = await OpenEtcdMembers.StartAsync(etcdProgram, open, clusterToken, QuorumTimeout, cancellationToken);
                using var channel = EtcdKvChannel.Plain(members.ClientPort);
                return await SchedulerKeyCopy.ReadAsync(channel.Kv, cancellationToken);
            }
            catch (InvalidOperationException e) when (attempt < 2 && e.Message.Contains("address already in use", StringComparison.Ordinal)) { }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported {Put} of the {Read} scheduler jobs kept in {Open} into the locked etcd cluster (the others were there already); the directory is kept as {Kept}")]
    private static partial void LogImported(ILogger logger, int put, int read, string open, string kept);

    [LoggerMessage(Level = LogLevel.Information, Message = "The scheduler jobs kept in {Open} were imported into the locked etcd cluster before; the directory is kept as {Kept}")]
    private static partial void LogImportedBefore(ILogger logger, string open, string kept);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Message}")]
    private static partial void LogImportFailed(ILogger logger, string message);
}
