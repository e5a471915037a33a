using System.Text.Json;
using Google.Protobuf;
using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>Key layout and value encoding, as Dapr's scheduler lays out its jobs in etcd.</summary>
internal sealed class EtcdKeys(string prefix)
{
    public string Jobs { get; } = prefix.TrimEnd('/') + "/jobs/";
    public string Counters { get; } = prefix.TrimEnd('/') + "/counters/";
    public string Leadership { get; } = prefix.TrimEnd('/') + "/leadership/";

    public ByteString Job(JobKey key) => ByteString.CopyFromUtf8(Jobs + key);
    public ByteString Counter(JobKey key) => ByteString.CopyFromUtf8(Counters + key);

    /// <summary>The job key of the app's jobs; app ids may hold '|', so a range read is narrowed by the stored ids too.</summary>
    public string AppJobs(string @namespace, string appId) => Jobs + new JobKey(@namespace, appId, "");

    public string CounterKeyFor(ByteString jobKey) => Counters + jobKey.ToStringUtf8()[Jobs.Length..];

    /// <summary>The end of a prefix range: the prefix with its last byte incremented.</summary>
    public static ByteString RangeEnd(ByteString prefix)
    {
        var bytes = prefix.ToByteArray();
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }

    public static ByteString Encode(StoredJob job) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(new EtcdJobRecord(
        job.Key.Namespace, job.Key.AppId, job.Key.Name, job.PartitionId, job.Schedule, job.Repeats, job.DueTime, job.Ttl,
        job.Data, job.FailurePolicy, job.Created, job.Due == TickCalculator.None ? null : job.Due,
        job.Expiration == long.MaxValue ? null : job.Expiration, job.TraceParent, job.TraceState), EtcdRecordJson.Default.EtcdJobRecord));

    public static ByteString Encode(ulong partitionId, JobProgress p) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(
        new EtcdCounterRecord(partitionId, p.Count, p.LastTrigger == TickCalculator.None ? null : p.LastTrigger, p.Attempts, p.LastResult),
        EtcdRecordJson.Default.EtcdCounterRecord));

    /// <summary>
    /// The stored job, or, when its value (or its counter's) does not read, a placeholder carrying its key and
    /// <see cref="StoredJob.LoadError"/>, so one damaged value neither stops loading nor hides the others.
    /// </summary>
    /// <remarks>
    /// The store is not trusted blindly: the job's identity is its key's, never its value's. A value naming another
    /// namespace, app id or name than its key (written by hand, or by a party with access to etcd), or a key no
    /// scheduler could have written, is a placeholder with <see cref="StoredJob.LoadError"/> too, which the engine
    /// quarantines: kept visible, never delivered.
    /// </remarks>
    public StoredJob Decode(Mvccpb.KeyValue kv, Mvccpb.KeyValue? counter)
    {
        string error;
        var keyed = KeyOf(kv.Key);
        try
        {
            var r = JsonSerializer.Deserialize(kv.Value.Span, EtcdRecordJson.Default.EtcdJobRecord);
            if (keyed.Error is { } keyError)
            {
                error = keyError;
            }
            else if (r is { Namespace: { } valueNs, AppId: { } valueApp, Name: { } valueName } && new JobKey(valueNs, valueApp, valueName) != keyed.Key)
            {
                error = $"its value names the job '{new JobKey(valueNs, valueApp, valueName)}', not the one of its key";
            }
            else if (r is { Namespace: { } ns, AppId: { } app, Name: { } name, FailurePolicy: { } policy })
            {
                var progress = JobProgress.Initial;
                if (counter is not null && JsonSerializer.Deserialize(counter.Value.Span, EtcdRecordJson.Default.EtcdCounterRecord) is { } c
                    && c.JobPartitionId == r.PartitionId)
                    progress = new JobProgress(c.Count, c.LastTrigger ?? TickCalculator.None, c.Attempts, c.LastResult);
                return new StoredJob
                {
                    Key = new JobKey(ns, app, name),
                    PartitionId = r.PartitionId,
                    Schedule = r.Schedule,
                    Repeats = r.Repeats,
                    DueTime = r.DueTime,
                    Ttl = r.Ttl,
                    Data = r.Data,
                    FailurePolicy = policy,
                    Created = r.Created,
                    Due = r.Due ?? TickCalculator.None,
                    Expiration = r.Expiration ?? long.MaxValue,
                    TraceParent = r.TraceParent,
                    TraceState = r.TraceState,
                    Progress = progress,
                };
            }
            else
            {
                error = "unreadable stored job or counter: empty or incomplete job value";
            }
        }
        catch (JsonException e)
        {
            error = "unreadable stored job or counter: " + e.Message;
        }
        return new StoredJob
        {
            Key = keyed.Key,
            PartitionId = 0,
            FailurePolicy = [],
            Created = 0,
            LoadError = error,
        };
    }

    /// <summary>
    /// The job a key under <see cref="Jobs"/> stands for (<c>app||namespace||app id||name</c>), and why no scheduler could
    /// have written it, if so. The name is the last field, so it may hold "||"; the namespace and app id may not
    /// (<see cref="Limits.ScopeValidator"/> refuses them), which keeps the split unambiguous.
    /// </summary>
    public (JobKey Key, string? Error) KeyOf(ByteString key)
    {
        var text = key.ToStringUtf8();
        var rest = text.StartsWith(Jobs, StringComparison.Ordinal) ? text[Jobs.Length..] : text;
        var parts = rest.Split("||");
        if (parts.Length < 4 || parts[0] != "app") return (new JobKey("", "", rest), "its key is not app||<namespace>||<app id>||<name>");
        var jobKey = new JobKey(parts[1], parts[2], string.Join("||", parts[3..]));
        var reason = Limits.ScopeValidator.Check(jobKey.Namespace) ?? Limits.ScopeValidator.Check(jobKey.AppId)
            ?? Schedules.JobNameValidator.Check(jobKey.Name);
        return (jobKey, reason is null ? null : "its key names no valid job: " + reason);
    }
}
