using Etcdserverpb;
using Google.Protobuf;

namespace Platform.Scheduler.Storage.Etcd;

// The watch: other replicas' writes.
public sealed partial class EtcdJobStore
{
    /// <summary>
    /// Follows every change under the jobs prefix from <paramref name="from"/> on, as Dapr's replicas follow
    /// <c>dapr/jobs/</c>: a job put or deleted through another replica reaches this engine, which takes it if it owns it.
    /// A broken watch resumes after the last revision seen; one compacted past that asks the engine to reload.
    /// </summary>
    private async Task WatchLoopAsync(long from)
    {
        var token = _closing.Token;
        var next = from;
        var prefix = ByteString.CopyFromUtf8(_keys.Jobs);
        while (!token.IsCancellationRequested)
        {
            try
            {
                using var call = _connection!.Watch.Watch(await _connection.StreamHeadersAsync(token), cancellationToken: token);
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest
                    {
                        Key = prefix, RangeEnd = EtcdKeys.RangeEnd(prefix), StartRevision = next, PrevKv = true, ProgressNotify = true,
                    },
                }, token);
                while (await call.ResponseStream.MoveNext(token))
                {
                    var response = call.ResponseStream.Current;
                    if (response.CompactRevision > 0)
                    {
                        // The changes since `next` are gone from etcd's history: start from now and reload instead.
                        LogWatchCompacted(_logger, next, response.CompactRevision);
                        next = (await QuorumReadAsync(token)).Header.Revision + 1;
                        await NotifyWatchedAsync([(new JobChange.Resync(), 0)]);
                        break;
                    }
                    if (response.Canceled) break;
                    var watched = new List<(JobChange Change, long Revision)>(response.Events.Count);
                    foreach (var e in response.Events)
                    {
                        var revision = e.Kv.ModRevision;
                        if (e.Type == Mvccpb.Event.Types.EventType.Put)
                        {
                            var job = Materialize(e.Kv, counter: null);
                            // Counted whether or not the engine hears of it: its own writes were counted as they committed.
                            Usage.Put(job.Key, job.Data?.Length ?? 0, revision);
                            watched.Add((new JobChange.Put(job), revision));
                        }
                        else
                        {
                            // The key, not the previous value, says which job went (a forged value must not hide a deletion).
                            var key = _keys.KeyOf(e.Kv.Key).Key;
                            Usage.Delete(key, revision);
                            if (e.PrevKv is not null)
                            {
                                _rowIds.UntrackIfOlder(key, revision);
                                watched.Add((new JobChange.Deleted(key, revision), revision));
                            }
                        }
                        next = revision + 1;
                    }
                    if (watched.Count > 0) await NotifyWatchedAsync(watched);
                    if (response.Events.Count > 0) Usage.Passed(next - 1);
                    // A progress notification (no events) says every change up to its revision was sent.
                    if (response.Events.Count == 0 && !response.Created) next = Math.Max(next, response.Header.Revision + 1);
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogWatchBroken(_logger, e.Message);
            }
            try { await Task.Delay(TimeSpan.FromMilliseconds(500), _time, token); }
            catch (OperationCanceledException) { break; }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The watch of the jobs prefix broke ({Reason}); resuming")]
    private static partial void LogWatchBroken(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "etcd compacted the jobs' history past revision {Revision} (to {CompactRevision}); reloading the owned jobs")]
    private static partial void LogWatchCompacted(ILogger logger, long revision, long compactRevision);
}
