namespace Platform.Scheduler.Limits;

/// <summary>
/// What <see cref="StoreUsage"/> knows of one job: its bytes of data, the store revision it was seen at (0 in a store
/// without revisions) and whether it is stored or a deletion marker. 16 bytes rather than 24 (one per stored job): a
/// job's data is a byte array, so its size fits an int.
/// </summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
internal readonly record struct UsageEntry(int Bytes, long Revision, bool Live);
