namespace Platform.Scheduler.Storage;

/// <summary>The parts of one load (see <see cref="IPartedLoad"/>); disposing it closes every part's read.</summary>
internal sealed class LoadParts(IReadOnlyList<IAsyncEnumerable<StoredJob>> parts, IReadOnlyList<IDisposable> reads) : IDisposable
{
    public IReadOnlyList<IAsyncEnumerable<StoredJob>> Parts => parts;

    public void Dispose()
    {
        foreach (var read in reads) read.Dispose();
    }
}
