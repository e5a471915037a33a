using System.Security.Cryptography;
using System.Text.Json;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage.Etcd;

namespace Platform.Scheduler.Leadership;

/// <summary>
/// Peer replicas on one etcd cluster agree on who fires which jobs, as Dapr's scheduler replicas do (no leader):
/// each holds a key <c>&lt;prefix&gt;/leadership/&lt;replica id&gt;</c> under its own lease, naming the partition total it
/// agrees to. Once every key names the number of keys present, each replica owns the jobs of its position among the
/// sorted keys (<see cref="Partition"/>). Any change of membership first makes every replica let go of its jobs
/// (committing their progress), then agree on the new total, then reload; so in steady state one replica fires a tick.
/// </summary>
/// <remarks>
/// A replica that dies stops renewing its lease; etcd deletes its key when the lease runs out, and the others then
/// share its jobs. A replica cut off from etcd stops firing on its own once its lease could have run out
/// (<see cref="FenceAfter"/>), before the others can take its jobs.
/// </remarks>
public sealed partial class EtcdLeadership : IAsyncDisposable
{
    private readonly EtcdStoreOptions _options;
    private readonly string _replicaId;
    private readonly string _address;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EtcdKeys _keys;
    private readonly ByteString _prefix;
    private readonly ByteString _ownKey;
    private readonly ulong _uid = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private readonly LeadershipRecordRules _records;
    /// <summary>Records already logged as ignored (key and revision), so a bad record is logged once, not at every change.</summary>
    private readonly HashSet<(string, long)> _ignoredLogged = [];
    private EtcdConnection? _connection;
    private volatile HostSet _hosts = new([]);
    private volatile Partition? _elected;
    private volatile string _state = "starting";
    private string? _lostReason;

    public EtcdLeadership(EtcdStoreOptions options, string replicaId, string address, TimeProvider? timeProvider = null,
        ILogger<EtcdLeadership>? logger = null)
    {
        _options = options;
        _replicaId = replicaId;
        _address = address;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _keys = new EtcdKeys(options.KeyPrefix);
        _prefix = ByteString.CopyFromUtf8(_keys.Leadership);
        _ownKey = ByteString.CopyFromUtf8(_keys.Leadership + replicaId);
        _records = new LeadershipRecordRules(options.ParseReplicas(), options.MaxReplicas);
    }

    /// <summary>The partition this replica fires, or null while the replicas have not agreed.</summary>
    public Partition? Elected => _elected;

    /// <summary>Null while this replica fires its partition; otherwise what it waits for (for /healthz).</summary>
    public string? Problem => _elected is null ? _state : null;

    /// <summary>The addresses of every replica holding a leadership key, sorted, and a task that completes when they change.</summary>
    public HostSet Hosts => _hosts;

    private TimeSpan Ttl => _options.LeaseTtl;
    private long TtlSeconds => Math.Max(1, (long)Math.Ceiling(Ttl.TotalSeconds));

    /// <summary>How long without an answered keep-alive until this replica lets go: before etcd can expire its lease.</summary>
    internal TimeSpan FenceAfter => EtcdLeaseKeeper.FenceAfter(Ttl);

    private DateTime Deadline => DateTime.UtcNow + _options.RequestTimeout;

    /// <summary>Takes part in the elections until <paramref name="stopping"/>, moving <paramref name="engine"/>'s ownership with them.</summary>
    public async Task RunAsync(SchedulerEngine engine, CancellationToken stopping)
    {
        _connection = EtcdConnection.Create(_options);
        while (!stopping.IsCancellationRequested)
        {
            long lease = 0;
            using var term = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            Task? keepAlive = null;
            _lostReason = null;
            try
            {
                _state = "waiting for a lease from the etcd cluster";
                var grantSent = _time.GetUtcNow();
                lease = (await _connection.Lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = TtlSeconds }, deadline: Deadline,
                    cancellationToken: stopping)).ID;
                keepAlive = new EtcdLeaseKeeper(_connection, _time, Ttl, _logger).RunAsync(lease, grantSent, reason => Lose(term, reason), term.Token);
                await ElectAsync(lease, engine, term);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                LogTermEnded(_logger, _replicaId, _lostReason ?? e.Message);
            }
            finally
            {
                await term.CancelAsync();
                // Also after a reload cut short: whatever the engine took, it must not fire outside an election.
                if (_elected is not null || engine.OwnedPartition is not null) await LetGoAsync(engine);
                if (keepAlive is not null) await keepAlive;
                if (lease != 0) await RevokeAsync(lease);
            }
            _state = "re-joining the replicas: " + (_lostReason ?? "the last attempt failed");
            try { await Task.Delay(TimeSpan.FromMilliseconds(500), _time, stopping); }
            catch (OperationCanceledException) { }
        }
        _state = "stopped";
    }

    private async Task RevokeAsync(long lease)
    {
        // Deleting the key at once spares the others the wait for the lease to run out; if etcd does not answer, it runs out.
        try { await _connection!.Lease.LeaseRevokeAsync(new LeaseRevokeRequest { ID = lease }, deadline: DateTime.UtcNow.AddSeconds(2)); }
        catch (RpcException) { }
    }

    private void Lose(CancellationTokenSource term, string reason)
    {
        _lostReason ??= reason;
        term.Cancel();
    }

    private sealed record Member(string Key, EtcdLeadershipRecord Record, Mvccpb.KeyValue Kv);

    private async Task ElectAsync(long lease, SchedulerEngine engine, CancellationTokenSource term)
    {
        var token = term.Token;
        var changed = new SemaphoreSlim(0);
        var range = await ReadMembersAsync(token);
        var watch = WatchMembersAsync(range.Header.Revision, changed, term);
        var holding = false;
        var waitingLogged = false;
        try
        {
            while (true)
            {
                token.ThrowIfCancellationRequested();
                var members = Parse(range);
                var self = members.FirstOrDefault(m => m.Kv.Key == _ownKey);
                var count = members.Count;
                PublishHosts(members);
                var unsure = false;
                if (self is null)
                {
                    if (holding) throw new InvalidOperationException("this replica's leadership key is gone (its lease ran out)");
                    _state = "joining the replicas";
                    (holding, unsure) = await TryPutAsync(lease, compareCreate: true, null, (uint)count + 1, token);
                }
                else if (self.Record.Uid != _uid)
                {
                    // A key of an earlier process under this id (killed, so never revoked): it goes when its lease runs out.
                    _state = $"waiting for the leadership key of an earlier '{_replicaId}' to expire";
                    if (!waitingLogged) LogKeyHeld(_logger, _replicaId, TtlSeconds);
                    waitingLogged = true;
                }
                else if (self.Kv.Lease != lease || self.Record.Total != count)
                {
                    // Membership changed: let go first (progress committed), then agree to the new total.
                    if (_elected is not null && self.Record.Total != count) await LetGoAsync(engine);
                    _state = $"agreeing on {count} replicas";
                    (var put, unsure) = await TryPutAsync(lease, compareCreate: false, self.Kv.Value, (uint)count, token);
                    holding = put || holding;
                }
                else
                {
                    holding = true;
                    var partition = new Partition(members.IndexOf(self), count);
                    if (_elected is { } elected && elected != partition) await LetGoAsync(engine);
                    if (members.All(m => m.Record.Total == count))
                    {
                        if (_elected is null)
                        {
                            await engine.AssumeOwnershipAsync(partition, token);
                            _elected = partition;
                            LogElected(_logger, _replicaId, partition.Index, partition.Total);
                        }
                    }
                    else
                    {
                        _state = $"waiting for every replica to agree on {count} replicas";
                        if (_elected is not null) await LetGoAsync(engine);
                    }
                }
                // A put whose answer was lost may not have landed, and then no change will come: read again at once.
                if (!unsure) await changed.WaitAsync(token);
                // Several changes may have come at once: one read sees them all.
                while (changed.CurrentCount > 0) await changed.WaitAsync(token);
                range = await ReadMembersAsync(token);
            }
        }
        finally
        {
            await term.CancelAsync();
            try { await watch; }
            catch (Exception) { }
        }
    }

    private async Task LetGoAsync(SchedulerEngine engine)
    {
        var was = _elected ?? engine.OwnedPartition;
        _elected = null;
        _state = "letting go of its partition";
        try
        {
            await engine.ReleaseOwnershipAsync();
        }
        catch (Exception e)
        {
            // The jobs are already dropped; only the last progress could not be committed (the cluster is away).
            LogFlushFailed(_logger, e);
        }
        LogLetGo(_logger, _replicaId, was?.ToString() ?? "none");
    }

    /// <summary>
    /// Reads the leadership keys, trying again through a member going away or an election (up to <see cref="FenceAfter"/>):
    /// the lease, not one request, decides whether this replica is still in, so a rolling restart of etcd moves no job.
    /// </summary>
    private Task<RangeResponse> ReadMembersAsync(CancellationToken token) =>
        EtcdRetry.ReadAsync(async () => await _connection!.Kv.RangeAsync(new RangeRequest { Key = _prefix, RangeEnd = EtcdKeys.RangeEnd(_prefix) },
                deadline: Deadline, cancellationToken: token),
            _time, FenceAfter, RetryDelay, e => LogRetrying(_logger, _replicaId, e.Status.StatusCode, e.Status.Detail), token);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The members in key order. The store is not trusted blindly: a record that no replica of this deployment could
    /// have written is ignored (and logged once), so that one forged record can neither stop every replica from firing
    /// (by a total no one agrees to) nor send sidecars to an address of its choosing. Every replica applies the same
    /// checks to the same records, so they still agree on the members. This replica's own key is always taken: its
    /// process id (<see cref="EtcdLeadershipRecord.Uid"/>) decides about it.
    /// </summary>
    private List<Member> Parse(RangeResponse range)
    {
        var members = new List<Member>(range.Kvs.Count);
        foreach (var kv in range.Kvs)
        {
            var id = kv.Key.ToStringUtf8()[_keys.Leadership.Length..];
            EtcdLeadershipRecord? record;
            try { record = JsonSerializer.Deserialize(kv.Value.Span, EtcdRecordJson.Default.EtcdLeadershipRecord); }
            catch (JsonException) { record = null; }
            if (kv.Key == _ownKey)
            {
                members.Add(new Member(id, record ?? new(0, 0, ""), kv));
                continue;
            }
            if (_records.Invalid(id, record, kv) is { } reason)
            {
                if (_ignoredLogged.Add((id, kv.ModRevision))) LogRecordIgnored(_logger, _replicaId, id, reason);
                continue;
            }
            members.Add(new Member(id, record!, kv));
        }
        return members;
    }

    /// <summary>
    /// Writes this replica's key under the lease: created only if absent, or replaced only if still <paramref name="expected"/>.
    /// Unsure when the answer was lost to a member going away: the put may have landed or not, and the next read tells.
    /// </summary>
    private async Task<(bool Put, bool Unsure)> TryPutAsync(long lease, bool compareCreate, ByteString? expected, uint total, CancellationToken token)
    {
        var value = ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(new EtcdLeadershipRecord(total, _uid, _address),
            EtcdRecordJson.Default.EtcdLeadershipRecord));
        var compare = compareCreate
            ? new Compare { Key = _ownKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 }
            : new Compare { Key = _ownKey, Target = Compare.Types.CompareTarget.Value, Result = Compare.Types.CompareResult.Equal, Value = expected };
        try
        {
            var response = await _connection!.Kv.TxnAsync(new TxnRequest
            {
                Compare = { compare },
                Success = { new RequestOp { RequestPut = new PutRequest { Key = _ownKey, Value = value, Lease = lease } } },
            }, deadline: Deadline, cancellationToken: token);
            return (response.Succeeded, false);
        }
        catch (RpcException e) when (EtcdRetry.IsTransient(e) && !token.IsCancellationRequested)
        {
            LogRetrying(_logger, _replicaId, e.Status.StatusCode, e.Status.Detail);
            await Task.Delay(RetryDelay, _time, token);
            return (false, true);
        }
    }

    /// <summary>
    /// Signals <paramref name="changed"/> on every change of the leadership keys after revision <paramref name="seen"/>. A
    /// watch cut by a member going away is opened again from the last revision it delivered, as etcd's own client does,
    /// so nothing is missed; only a watch that cannot be resumed (compacted past, refused, or down for
    /// <see cref="FenceAfter"/>) ends the term.
    /// </summary>
    private async Task WatchMembersAsync(long seen, SemaphoreSlim changed, CancellationTokenSource term)
    {
        var token = term.Token;
        var failingSince = (DateTimeOffset?)null;
        while (true)
        {
            try
            {
                using var call = _connection!.Watch.Watch(await _connection.StreamHeadersAsync(token), cancellationToken: token);
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest { Key = _prefix, RangeEnd = EtcdKeys.RangeEnd(_prefix), StartRevision = seen + 1 },
                }, token);
                while (await call.ResponseStream.MoveNext(token))
                {
                    var response = call.ResponseStream.Current;
                    if (response.Canceled || response.CompactRevision > 0)
                    {
                        Lose(term, "the watch of the leadership keys was cancelled by etcd");
                        return;
                    }
                    if (failingSince is not null)
                    {
                        failingSince = null;
                        // What changed while the watch was away arrives as events from the revision asked for.
                        LogWatchResumed(_logger, _replicaId, seen);
                    }
                    if (response.Events.Count > 0)
                    {
                        seen = Math.Max(seen, response.Events.Max(e => e.Kv.ModRevision));
                        changed.Release();
                    }
                }
                Lose(term, "the watch of the leadership keys ended");
                return;
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            // Cancelled while this term's token is not: the transport cut the stream (a member's TLS connection going
            // away can surface so), which is resumed like any member going away.
            catch (RpcException e) when (EtcdRetry.IsTransient(e) || e.StatusCode == StatusCode.Cancelled)
            {
                failingSince ??= _time.GetUtcNow();
                if (_time.GetUtcNow() - failingSince >= FenceAfter)
                {
                    Lose(term, "the watch of the leadership keys could not be resumed: " + e.Status.Detail);
                    return;
                }
                LogRetrying(_logger, _replicaId, e.Status.StatusCode, e.Status.Detail);
            }
            catch (Exception e)
            {
                Lose(term, "the watch of the leadership keys broke: " + e.Message);
                return;
            }
            try { await Task.Delay(RetryDelay, _time, token); }
            catch (OperationCanceledException) { return; }
        }
    }

    private void PublishHosts(List<Member> members)
    {
        var addresses = members.Select(m => m.Record.Address).Where(a => a.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();
        var current = _hosts;
        if (current.Addresses.SequenceEqual(addresses)) return;
        _hosts = new HostSet(addresses);
        current.MarkChanged();
    }

    public ValueTask DisposeAsync()
    {
        _connection?.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {ReplicaId} ignores the leadership record of '{Member}': {Reason}")]
    private static partial void LogRecordIgnored(ILogger logger, string replicaId, string member, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} fires partition {Index} of {Total}")]
    private static partial void LogElected(ILogger logger, string replicaId, int index, int total);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} let go of partition {Partition}: the replicas changed")]
    private static partial void LogLetGo(ILogger logger, string replicaId, string partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {ReplicaId} left the replicas: {Reason}; joining again")]
    private static partial void LogTermEnded(ILogger logger, string replicaId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The leadership key of replica {ReplicaId} is held by an earlier process; waiting up to {Seconds} s for its lease to run out")]
    private static partial void LogKeyHeld(ILogger logger, string replicaId, long seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Committing the progress of the partition let go failed")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} trying etcd again ({Code}: {Detail})")]
    private static partial void LogRetrying(ILogger logger, string replicaId, StatusCode code, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} resumed its watch of the replicas after revision {Revision}")]
    private static partial void LogWatchResumed(ILogger logger, string replicaId, long revision);
}
