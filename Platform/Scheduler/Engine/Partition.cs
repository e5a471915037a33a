namespace Platform.Scheduler.Engine;

/// <summary>
/// A replica's share of the jobs, as Dapr's replicas split them: replica <see cref="Index"/> of <see cref="Total"/> owns
/// every job whose random partition id satisfies <c>partition_id mod Total == Index</c>.
/// </summary>
public sealed record Partition(int Index, int Total)
{
    public static readonly Partition All = new(0, 1);

    public bool Owns(ulong partitionId) => Total <= 1 || (int)(partitionId % (ulong)Total) == Index;

    public override string ToString() => $"{Index} of {Total}";
}
