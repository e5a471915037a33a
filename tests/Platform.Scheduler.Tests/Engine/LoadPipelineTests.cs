using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>
/// The load's reader threads and its installer (issue 26, item 4): every job arrives once, in its part's order; a
/// reader's failure is thrown to the installer rather than leaving it waiting, and stops the other readers; the
/// installer's cancellation or early stop ends every reader before the load returns.
/// </summary>
public sealed class LoadPipelineTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly JobOwnership _ownership = new(new TriggerQueue(), null!, NullLogger.Instance, new Partition(0, 1));

    [Fact]
    public async Task Every_job_arrives_once_in_its_part_order()
    {
        var names = new List<string>();
        await foreach (var batch in LoadPipeline.RunAsync([Jobs("a", 5000), Jobs("b", 3000)], _ownership.NewPreparer, default).WithCancellation(default))
            foreach (var job in batch) names.Add(job.State.Key.Name);

        Assert.Equal(8000, names.Count);
        Assert.Equal(Enumerable.Range(0, 5000).Select(i => $"a{i}"), names.Where(n => n[0] == 'a'));
        Assert.Equal(Enumerable.Range(0, 3000).Select(i => $"b{i}"), names.Where(n => n[0] == 'b'));
    }

    [Fact]
    public async Task A_reader_failure_is_thrown_to_the_installer_and_stops_the_other_readers()
    {
        var endless = new Ended(slowClose: true);
        var failed = new Ended();
        var parts = new[] { Jobs("a", 5000, failed, new InvalidDataException("disk read failed")), Jobs("b", int.MaxValue, endless) };

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => DrainAsync(parts, default).WaitAsync(Bound));

        Assert.Equal("disk read failed", error.Message);
        Assert.True(failed.Value && endless.Value);
    }

    [Fact]
    public async Task Cancelling_the_load_ends_every_reader_before_it_returns()
    {
        var one = new Ended(slowClose: true);
        var two = new Ended(slowClose: true);
        using var cancel = new CancellationTokenSource();
        var batches = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => DrainAsync([Jobs("a", int.MaxValue, one), Jobs("b", int.MaxValue, two)], cancel.Token,
            onBatch: () => { if (++batches == 3) cancel.Cancel(); }).WaitAsync(Bound));

        Assert.True(one.Value && two.Value);
    }

    [Fact]
    public async Task An_installer_that_stops_early_ends_every_reader_before_it_returns()
    {
        var one = new Ended(slowClose: true);
        var two = new Ended(slowClose: true);

        await Assert.ThrowsAsync<InvalidOperationException>(() => DrainAsync([Jobs("a", int.MaxValue, one), Jobs("b", int.MaxValue, two)], default,
            onBatch: () => throw new InvalidOperationException("install failed")).WaitAsync(Bound));

        Assert.True(one.Value && two.Value);
    }

    private async Task DrainAsync(IReadOnlyList<IAsyncEnumerable<StoredJob>> parts, CancellationToken cancellationToken, Action? onBatch = null)
    {
        await foreach (var _ in LoadPipeline.RunAsync(parts, _ownership.NewPreparer, cancellationToken)) onBatch?.Invoke();
    }

    /// <summary>Set when a part's enumeration has ended; <see cref="SlowClose"/> stands for a store read that takes a
    /// while to close (the flag is set only then), so a load that returned without waiting for it is seen.</summary>
    private sealed class Ended(bool slowClose = false)
    {
        public volatile bool Value;
        public bool SlowClose => slowClose;
    }

    private static async IAsyncEnumerable<StoredJob> Jobs(string prefix, int count, Ended? ended = null, Exception? thenThrow = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        try
        {
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return new StoredJob { Key = new JobKey("ns", "app", prefix + i), PartitionId = (ulong)i, FailurePolicy = [], Created = 1, Schedule = "@every 1h" };
            }
            if (thenThrow is not null) throw thenThrow;
        }
        finally
        {
            if (ended is { SlowClose: true }) Thread.Sleep(200);
            if (ended is not null) ended.Value = true;
        }
    }
}
