using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

using Platform.Security.Renewal;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// The job store on an external etcd cluster, laid out as Dapr's scheduler lays out its jobs: each job's definition
/// under <c>dapr/jobs/app||&lt;namespace&gt;||&lt;app id&gt;||&lt;name&gt;</c>, its progress (count, last tick, failure-policy
/// attempts) under <c>dapr/counters/…</c> with the same suffix. As in the SQLite store, every write goes through the
/// <see cref="BatchingJobStore"/> writer, which commits whatever is waiting in one etcd transaction (within etcd's limits
/// on operations and bytes per request), so concurrent durable writes share a round trip to the quorum and queued
/// progress rides along. Reads, writes and the watch are in the partial files beside this one.
/// </summary>
/// <remarks>
/// A progress or completion write is conditional on the job key's mod revision still being the one this store last
/// wrote or read: a job replaced meanwhile (a newer revision) keeps its fresh progress. Row ids are this process's
/// own handles on job keys; etcd has no row ids.
/// </remarks>
public sealed partial class EtcdJobStore : BatchingJobStore, IStoreHealth, Limits.IJobStoreUsage
{
    private readonly EtcdStoreOptions _options;
    private readonly IReadOnlyList<Uri> _endpoints;
    private readonly EtcdKeys _keys;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private EtcdConnection? _connection;
    private Task? _probe;
    private Task? _watch;
    /// <summary>
    /// Changes reach the engine one at a time and in revision order, whether they come from this store's own writes,
    /// from the watch (other replicas' writes) or from a reload: a reload holds it while it reads, and changes at or
    /// below the revision it read are then skipped, as the reload already reflects them.
    /// </summary>
    private readonly SemaphoreSlim _feed = new(1, 1);
    private long _feedFloor;
    /// <summary>Revisions of this store's own writes already reported, which the watch will bring again: it skips them.</summary>
    private readonly SortedSet<long> _reportedOwn = [];
    /// <summary>The last revision the watch has reported whole: an own write at or below it was heard of already.</summary>
    private long _watchedThrough;

    /// <summary>Test seams: awaited before the engine hears of a committed transaction, and before the watch reports a response.</summary>
    internal Func<Task>? BeforeOwnReport { get; set; }
    internal Func<Task>? BeforeWatchReport { get; set; }

    private readonly CancellationTokenSource _closing = new();

    private readonly EtcdRowIds _rowIds = new();

    internal EtcdRowIds RowIds => _rowIds;

    private volatile string? _probeProblem;
    private volatile string? _writeProblem;

    public EtcdJobStore(EtcdStoreOptions options, ILogger<EtcdJobStore>? logger = null, TimeProvider? timeProvider = null)
        : base((ILogger?)logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System, options.ProgressFlushInterval, int.MaxValue,
            refuseBeforeOpen: true)
    {
        _options = options;
        _endpoints = options.ParseEndpoints();
        _keys = new EtcdKeys(options.KeyPrefix);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The endpoints as given, for messages.</summary>
    public string Endpoints => string.Join(",", _endpoints.Select(u => u.Authority));

    public string? Problem => _options.ClientIdentity.HealthProblem(_time) ?? _writeProblem ?? _probeProblem;

    /// <summary>Every job in the cluster under the prefix, whichever replica fires it: what the quotas count.</summary>
    public Limits.StoreUsage Usage { get; } = new();

    internal KV.KVClient Kv => (_connection ?? throw new InvalidOperationException("The store is not open.")).Kv;

    internal DateTime Deadline => DateTime.UtcNow + _options.RequestTimeout;

    /// <summary>Connects and waits (bounded) for a quorum read to succeed; throws with the cluster's endpoints and the last error.</summary>
    public override async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        _connection = EtcdConnection.Create(_options);
        if (!string.IsNullOrEmpty(_options.ClientPassword)) LogPasswordOnCommandLine(_logger, EtcdStoreOptions.PasswordVariable);
        var giveUp = _time.GetUtcNow() + _options.ConnectTimeout;
        long openedAt;
        while (true)
        {
            try
            {
                openedAt = (await QuorumReadAsync(cancellationToken)).Header.Revision;
                break;
            }
            catch (RpcException e) when (EtcdRetry.IsTransient(e) && _time.GetUtcNow() < giveUp)
            {
                LogConnectRetry(_logger, Endpoints, e.Status.StatusCode, e.Status.Detail);
                await Task.Delay(TimeSpan.FromMilliseconds(500), _time, cancellationToken);
            }
            catch (RpcException e) when (!EtcdRetry.IsTransient(e))
            {
                throw new InvalidOperationException(
                    $"The etcd cluster at {Endpoints} refused the job store ({e.Status.StatusCode}: {e.Status.Detail}). " +
                    "Check --etcd-client-username and --etcd-client-password (or their -file forms)" + TlsHint, e);
            }
            catch (RpcException e)
            {
                throw new InvalidOperationException(
                    $"The etcd cluster at {Endpoints} did not answer within {_options.ConnectTimeout.TotalSeconds:0.#} s ({e.Status.StatusCode}: {e.Status.Detail}). " +
                    "Start it, or check --etcd-client-endpoints" + TlsHint, e);
            }
        }
        await ScanUsageAsync(openedAt, cancellationToken);
        LogConnected(_logger, Endpoints, _keys.Jobs);
        StartWriter();
        _probe = Task.Run(ProbeLoopAsync, CancellationToken.None);
        _watch = Task.Run(() => WatchLoopAsync(openedAt + 1), CancellationToken.None);
    }

    private string TlsHint => _options.UseTls ? " and the TLS files (--etcd-client-ca-file, --etcd-client-cert-file, --etcd-client-key-file)." : ".";

    /// <summary>Counts every job at <paramref name="revision"/> (the watch goes on from the next), page by page, keeping none.</summary>
    private async Task ScanUsageAsync(long revision, CancellationToken cancellationToken)
    {
        var jobs = new List<(JobKey, long, long)>();
        await ReadAsync(async () =>
        {
            jobs.Clear();
            await foreach (var (kv, _) in RangePagesAsync(ByteString.CopyFromUtf8(_keys.Jobs), revision, cancellationToken))
            {
                var job = _keys.Decode(kv, null);
                jobs.Add((job.Key, job.Data?.Length ?? 0, kv.ModRevision));
            }
            return 0;
        }, cancellationToken);
        Usage.Reset(jobs);
    }

    /// <summary>A linearizable read: it succeeds only while the cluster has a quorum.</summary>
    private Task<RangeResponse> QuorumReadAsync(CancellationToken cancellationToken) =>
        Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Jobs), Limit = 1, CountOnly = true },
            deadline: Deadline, cancellationToken: cancellationToken).ResponseAsync;

    private async Task ProbeLoopAsync()
    {
        var token = _closing.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await QuorumReadAsync(token);
                if (_probeProblem is not null) LogClusterBack(_logger, Endpoints);
                _probeProblem = null;
            }
            catch (RpcException e) when (!token.IsCancellationRequested)
            {
                var problem = $"the etcd cluster at {Endpoints} does not answer a quorum read ({e.Status.StatusCode}: {e.Status.Detail})";
                if (_probeProblem is null) LogClusterLost(_logger, problem);
                _probeProblem = problem;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException && token.IsCancellationRequested)
            {
                // Closing: gRPC reports the cancelled probe as an RpcException (Cancelled), not as a cancellation.
                break;
            }
            try { await Task.Delay(_options.HealthProbeInterval, _time, token); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>A read tried again through a transient failure (a leader election, a member going away), within the retry window.</summary>
    private Task<T> ReadAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken) =>
        EtcdRetry.ReadAsync(read, _time, _options.WriteRetryWindow, TimeSpan.FromMilliseconds(200), null, cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        await StopWriterAsync();
        await _closing.CancelAsync();
        if (_probe is not null) await _probe;
        if (_watch is not null) await _watch;
        _connection?.Dispose();
        _closing.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The etcd password was given with --etcd-client-password, which every local user can read in the process list; use --etcd-client-password-file or {Variable}")]
    private static partial void LogPasswordOnCommandLine(ILogger logger, string variable);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job store on the etcd cluster at {Endpoints}, jobs under {JobPrefix}")]
    private static partial void LogConnected(ILogger logger, string endpoints, string jobPrefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The etcd cluster at {Endpoints} does not answer yet ({Code}: {Detail}); retrying")]
    private static partial void LogConnectRetry(ILogger logger, string endpoints, StatusCode code, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job store unavailable: {Problem}")]
    private static partial void LogClusterLost(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "The etcd cluster at {Endpoints} answers again")]
    private static partial void LogClusterBack(ILogger logger, string endpoints);
}
