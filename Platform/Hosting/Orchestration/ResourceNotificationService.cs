using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Platform.Hosting;

/// <summary>Current state of every resource, change notifications, and waits on states (Aspire's ResourceNotificationService).</summary>
public sealed class ResourceNotificationService
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ResourceEvent> _current = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<(Func<ResourceEvent, bool> Match, TaskCompletionSource<ResourceEvent> Done)> _waiters = [];
    private readonly List<Channel<ResourceEvent>> _watchers = [];

    /// <summary>Raised after every change, in order, on the publishing thread (keep handlers short).</summary>
    public event Action<ResourceEvent, ResourceEvent?>? Changed;

    public bool TryGetCurrentState(string resourceName, out ResourceEvent? resourceEvent)
    {
        lock (_gate) return _current.TryGetValue(resourceName, out resourceEvent);
    }

    public IReadOnlyList<ResourceEvent> Current()
    {
        lock (_gate) return [.. _current.Values];
    }

    /// <summary>Waits until the resource reaches <paramref name="targetState"/> (default Running).</summary>
    public Task WaitForResourceAsync(string resourceName, string? targetState = null, CancellationToken cancellationToken = default)
    {
        targetState ??= KnownResourceStates.Running;
        return WaitForResourceAsync(resourceName, e => e.Snapshot.State == targetState, cancellationToken);
    }

    public async Task<string> WaitForResourceAsync(string resourceName, IEnumerable<string> targetStates, CancellationToken cancellationToken = default)
    {
        var states = targetStates.ToHashSet(StringComparer.Ordinal);
        var e = await WaitForResourceAsync(resourceName, e => states.Contains(e.Snapshot.State), cancellationToken);
        return e.Snapshot.State;
    }

    public Task<ResourceEvent> WaitForResourceAsync(string resourceName, Func<ResourceEvent, bool> predicate, CancellationToken cancellationToken = default)
    {
        var tcs = new TaskCompletionSource<ResourceEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool Match(ResourceEvent e) => string.Equals(e.Resource.Name, resourceName, StringComparison.OrdinalIgnoreCase) && predicate(e);
        lock (_gate)
        {
            if (_current.TryGetValue(resourceName, out var now) && predicate(now)) return Task.FromResult(now);
            _waiters.Add((Match, tcs));
        }
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                lock (_gate) _waiters.RemoveAll(w => w.Done == tcs);
                tcs.TrySetCanceled(cancellationToken);
            });
            _ = tcs.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        return tcs.Task;
    }

    /// <summary>Waits until the resource is Running and healthy; throws if it failed to start.</summary>
    public async Task<ResourceEvent> WaitForResourceHealthyAsync(string resourceName, CancellationToken cancellationToken = default)
    {
        var e = await WaitForResourceAsync(resourceName,
            e => e.Snapshot.IsHealthy || e.Snapshot.State == KnownResourceStates.FailedToStart, cancellationToken);
        if (e.Snapshot.State == KnownResourceStates.FailedToStart)
            throw new DistributedApplicationException($"Stopped waiting for resource '{resourceName}' to become healthy because it failed to start.");
        return e;
    }

    /// <summary>Every change from now on (preceded by the current state of each resource).</summary>
    public async IAsyncEnumerable<ResourceEvent> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<ResourceEvent>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            foreach (var e in _current.Values) channel.Writer.TryWrite(e);
            _watchers.Add(channel);
        }
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken)) yield return e;
        }
        finally
        {
            lock (_gate) _watchers.Remove(channel);
        }
    }

    internal ResourceEvent Publish(IResource resource, Func<ResourceSnapshot?, ResourceSnapshot> update)
    {
        ResourceEvent next;
        ResourceEvent? previous;
        List<TaskCompletionSource<ResourceEvent>> done = [];
        lock (_gate)
        {
            _current.TryGetValue(resource.Name, out previous);
            next = new ResourceEvent(resource, resource.Name, update(previous?.Snapshot));
            _current[resource.Name] = next;
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(next))
                {
                    done.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
            foreach (var w in _watchers) w.Writer.TryWrite(next);
            // Inside the lock so that observers see changes in the order they were made.
            Changed?.Invoke(next, previous);
        }
        foreach (var tcs in done) tcs.TrySetResult(next);
        return next;
    }
}
