namespace Platform.Scheduler.Schedules;

/// <summary>Checks of protobuf Duration and Timestamp values, with the texts of Go's durationpb/timestamppb CheckValid.</summary>
public static class ProtobufTimeValidator
{
    /// <summary>Duration's range: ±10,000 years in seconds.</summary>
    public const long MaxDurationSeconds = 315_576_000_000;
    private const long MinTimestampSeconds = -62_135_596_800;   // 0001-01-01T00:00:00Z
    private const long MaxTimestampSeconds = 253_402_300_799;   // 9999-12-31T23:59:59Z

    /// <summary>Null when valid (normalised and in range), else the reason.</summary>
    public static string? CheckDuration(long seconds, int nanos)
    {
        var text = Text(seconds, nanos);
        if (seconds < -MaxDurationSeconds) return $"duration ({text}) exceeds -10000 years";
        if (seconds > MaxDurationSeconds) return $"duration ({text}) exceeds +10000 years";
        if (nanos <= -1_000_000_000 || nanos >= 1_000_000_000) return $"duration ({text}) has out-of-range nanos";
        if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return $"duration ({text}) has seconds and nanos with different signs";
        return null;
    }

    /// <summary>Null when valid (normalised and within 0001-01-01..9999-12-31), else the reason.</summary>
    public static string? CheckTimestamp(long seconds, int nanos)
    {
        var text = Text(seconds, nanos);
        if (seconds < MinTimestampSeconds) return $"timestamp ({text}) before 0001-01-01";
        if (seconds > MaxTimestampSeconds) return $"timestamp ({text}) after 9999-12-31";
        if (nanos < 0 || nanos >= 1_000_000_000) return $"timestamp ({text}) has out-of-range nanos";
        return null;
    }

    /// <summary>Go's %v of the message: proto text format, zero fields left out.</summary>
    public static string Text(long seconds, int nanos) => (seconds, nanos) switch
    {
        (0, 0) => "",
        (_, 0) => $"seconds:{seconds}",
        (0, _) => $"nanos:{nanos}",
        _ => $"seconds:{seconds} nanos:{nanos}",
    };
}
