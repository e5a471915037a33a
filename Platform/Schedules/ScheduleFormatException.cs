namespace Platform.Scheduler.Schedules;

/// <summary>A schedule string the parser rejects; the message is the parser's text.</summary>
public sealed class ScheduleFormatException(string message) : FormatException(message);
