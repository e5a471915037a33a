using System.Runtime.InteropServices;

namespace Platform.Scheduler.Limits;

/// <summary>
/// One app's <see cref="UsageEntry"/> by job name. A store with revisions needs each entry whole (32 bytes a job in the
/// table); one without has neither revisions nor deletion markers, so it keeps the bytes alone (24 bytes a job: 9 MB
/// less for 1M jobs).
/// </summary>
internal sealed class UsageEntries(bool revisions)
{
    private readonly Dictionary<string, UsageEntry>? _revised = revisions ? new(StringComparer.Ordinal) : null;
    private readonly Dictionary<string, int>? _bytes = revisions ? null : new(StringComparer.Ordinal);

    public int Count => _revised?.Count ?? _bytes!.Count;

    public bool TryGet(string name, out UsageEntry entry)
    {
        if (_revised is not null) return _revised.TryGetValue(name, out entry);
        var found = _bytes!.TryGetValue(name, out var bytes);
        entry = found ? new UsageEntry(bytes, 0, Live: true) : default;
        return found;
    }

    /// <summary>Holds <paramref name="entry"/>; without revisions only a live one (a deletion is <see cref="Remove"/>).</summary>
    public void Set(string name, UsageEntry entry)
    {
        if (_revised is not null) _revised[name] = entry;
        else if (entry.Live) _bytes![name] = entry.Bytes;
        else throw new ArgumentException("a store without revisions keeps no deletion markers", nameof(entry));
    }

    public void Remove(string name)
    {
        if (_revised is not null) _revised.Remove(name);
        else _bytes!.Remove(name);
    }

    /// <summary>
    /// Holds a live entry found by a full read, with one lookup. Returns what it replaced (default when the name was new),
    /// or null when what is held is newer and stays.
    /// </summary>
    public UsageEntry? AddLive(string name, int bytes, long revision)
    {
        if (_revised is not null)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_revised, name, out var held);
            if (held && revision != 0 && slot.Revision > revision) return null;
            var replaced = held ? slot : default;
            slot = new UsageEntry(bytes, revision, Live: true);
            return replaced;
        }
        ref var size = ref CollectionsMarshal.GetValueRefOrAddDefault(_bytes!, name, out var existed);
        var old = existed ? new UsageEntry(size, 0, Live: true) : default;
        size = bytes;
        return old;
    }

    public void EnsureCapacity(int capacity)
    {
        if (_revised is not null) _revised.EnsureCapacity(capacity);
        else _bytes!.EnsureCapacity(capacity);
    }

    public void TrimExcess()
    {
        if (_revised is not null) _revised.TrimExcess();
        else _bytes!.TrimExcess();
    }
}
