namespace Platform.Scheduler.Leadership;

/// <summary>The replicas' addresses at one moment; <see cref="Changed"/> completes when a newer set replaces it.</summary>
public sealed class HostSet(IReadOnlyList<string> addresses)
{
    private readonly TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Addresses { get; } = addresses;
    public Task Changed => _changed.Task;

    internal void MarkChanged() => _changed.TrySetResult();
}
