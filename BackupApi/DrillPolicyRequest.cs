namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>Drill every <c>every</c>th successful backup of the schedule (1-10000); null stops drills.</summary>
public sealed record DrillPolicyRequest(int? Every);
