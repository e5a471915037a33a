using System.Diagnostics;

namespace Platform.Scheduler.Engine;

/// <param name="SentAt">Clock ticks when it was sent; unanswered past the ack timeout, it is taken back.</param>
internal readonly record struct InFlightTrigger(JobState Job, long DispatchSeq, Activity? Activity, long SentAt);
