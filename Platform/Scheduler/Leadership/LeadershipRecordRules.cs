using Platform.Scheduler.Storage.Etcd;

namespace Platform.Scheduler.Leadership;

/// <summary>
/// What a leadership record must be for a replica to count it: the store is not trusted blindly, so a record no replica
/// of this deployment could have written is ignored. Every replica applies the same rules to the same records.
/// </summary>
internal sealed class LeadershipRecordRules(IReadOnlyDictionary<string, string> knownReplicas, int maxReplicas)
{
    /// <summary>Why a leadership record is not one a replica of this deployment writes; null when it is.</summary>
    public string? Invalid(string id, EtcdLeadershipRecord? record, Mvccpb.KeyValue kv)
    {
        if (record is null || record.Address is null) return "its value does not read as a leadership record";
        // A replica's key lives under its lease, so it goes when the replica does; one without could stop firing forever.
        if (kv.Lease == 0) return "it is held under no lease";
        var max = knownReplicas.Count > 0 ? knownReplicas.Count : maxReplicas;
        if (record.Total < 1 || record.Total > max) return $"it agrees to {record.Total} replicas, outside 1..{max}";
        if (knownReplicas.Count > 0)
        {
            if (!knownReplicas.TryGetValue(id, out var announced)) return $"'{id}' is not a known replica (--etcd-replicas)";
            if (record.Address != announced) return $"it names the address '{record.Address}', not the one replica '{id}' announces ({announced})";
        }
        else if (!EtcdStoreOptions.IsHostPort(record.Address))
        {
            return $"its address '{record.Address}' is not host:port";
        }
        return null;
    }
}
