using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Tests.Schedules;

public class ScheduleParserTests
{
    private static DateTimeOffset Utc(string s) => DateTimeOffset.Parse(s, null, System.Globalization.DateTimeStyles.AssumeUniversal).ToUniversalTime();

    public static TheoryData<string, string, string> NextCases => new()
    {
        // spec, after (UTC), expected next (UTC)
        { "1 2 3 4 5 6", "2026-01-01T00:00:00Z", "2026-05-02T03:02:01Z" },            // May: the 4th OR a Saturday (Sat 2 May first)
        { "* * * * * *", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:01Z" },
        { "*/15 * * * * *", "2026-01-01T00:00:14Z", "2026-01-01T00:00:15Z" },
        { "10-20/5 * * * * *", "2026-01-01T00:00:16Z", "2026-01-01T00:00:20Z" },
        { "5/20 * * * * *", "2026-01-01T00:00:26Z", "2026-01-01T00:00:45Z" },
        { "0 0 9 * * *", "2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z" },
        { "0 30 8 * * mon-fri", "2026-01-02T09:00:00Z", "2026-01-05T08:30:00Z" },    // Fri -> Mon
        { "0 0 0 1 jan,JUL ?", "2026-01-02T00:00:00Z", "2026-07-01T00:00:00Z" },
        { "0 0 0 13 * 5", "2026-02-01T00:00:00Z", "2026-02-06T00:00:00Z" },           // Friday 6th beats the 13th (OR)
        { "0 0 0 13 * *", "2026-02-01T00:00:00Z", "2026-02-13T00:00:00Z" },           // dow '*': dom only
        { "0 0 0 * * 0", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z" },
        { "0 0 0 */10 * 1", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z" },        // stepped star is restricted: OR
        { "@yearly", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z" },
        { "@annually", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00Z" },
        { "@monthly", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z" },
        { "@weekly", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z" },
        { "@daily", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z" },
        { "@midnight", "2026-01-01T12:00:00Z", "2026-01-02T00:00:00Z" },
        { "@hourly", "2026-01-01T00:59:59Z", "2026-01-01T01:00:00Z" },
        { "@every 1s", "2026-01-01T00:00:00.25Z", "2026-01-01T00:00:01.25Z" },
        { "@every 1h30m", "2026-01-01T00:00:00Z", "2026-01-01T01:30:00Z" },
        { "@every 1.5s", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z" },
        { "@every 1ms", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.001Z" },
        { "@every 500us", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.0005Z" },
        { "TZ=America/New_York 0 0 9 * * *", "2026-01-05T00:00:00Z", "2026-01-05T14:00:00Z" },   // EST = UTC-5
        { "CRON_TZ=America/New_York 0 0 9 * * *", "2026-07-05T00:00:00Z", "2026-07-05T13:00:00Z" }, // EDT = UTC-4
        { "CRON_TZ=Europe/Rome @daily", "2026-01-05T00:00:00Z", "2026-01-05T23:00:00Z" },
        // DST spring forward in New York (2026-03-08 02:00 EST -> 03:00 EDT): 02:30 does not exist that day.
        { "TZ=America/New_York 0 30 2 * * *", "2026-03-07T08:00:00Z", "2026-03-09T06:30:00Z" },
        { "TZ=America/New_York 0 0 * * * *", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z" },    // 01:00 EST -> 03:00 EDT
        // DST fall back (2026-11-01 02:00 EDT -> 01:00 EST): hourly sees 01:00 twice.
        { "TZ=America/New_York 0 0 * * * *", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z" },
        { "TZ=America/New_York 0 0 9 * * *", "2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z" },
    };

    [Theory]
    [MemberData(nameof(NextCases))]
    public void Next_matches_the_schedule(string spec, string after, string expected)
    {
        var schedule = ScheduleParser.Parse(spec);
        Assert.Equal(Utc(expected), schedule.Next(Utc(after)));
    }

    public static TheoryData<string, string> Rejections => new()
    {
        { "", "empty spec string" },
        { "* * * * *", "expected exactly 6 fields, found 5: [* * * * *]" },
        { "* * * * * * *", "expected exactly 6 fields, found 7: [* * * * * * *]" },
        { "R5/PT1M", "expected exactly 6 fields, found 1: [R5/PT1M]" },
        { "PT1M", "expected exactly 6 fields, found 1: [PT1M]" },
        { "@foo", "unrecognized descriptor: @foo" },
        { "@every abc", "failed to parse duration @every abc: time: invalid duration \"abc\"" },
        { "@every 1d", "failed to parse duration @every 1d: time: unknown unit \"d\" in duration \"1d\"" },
        { "@every 10", "failed to parse duration @every 10: time: missing unit in duration \"10\"" },
        { "@every 0s", "@every duration must be positive: @every 0s" },
        { "@every -1s", "@every duration must be positive: @every -1s" },
        { "60 * * * * *", "end of range (60) above maximum (59): 60" },
        { "* * 24 * * *", "end of range (24) above maximum (23): 24" },
        { "* * * 0 * *", "beginning of range (0) below minimum (1): 0" },
        { "* * * * 13 *", "end of range (13) above maximum (12): 13" },
        { "* * * * * 7", "end of range (7) above maximum (6): 7" },
        { "5-2 * * * * *", "beginning of range (5) beyond end of range (2): 5-2" },
        { "*/0 * * * * *", "step of range should be a positive number: */0" },
        { "1-2-3 * * * * *", "too many hyphens: 1-2-3" },
        { "*/2/3 * * * * *", "too many slashes: */2/3" },
        { "x * * * * *", "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax" },
        { "* * * * foo *", "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax" },
        { "CRON_TZ=Not/AZone 0 0 9 * * *", "provided bad location Not/AZone: unknown time zone Not/AZone" },
        { "TZ=Not/AZone @daily", "provided bad location Not/AZone: unknown time zone Not/AZone" },
        { "CRON_TZ=Europe/Rome @every 1h", "time zone prefix is not supported with @every: @every 1h" },
        { "TZ=Europe/Rome", "missing schedule after time zone prefix: TZ=Europe/Rome" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void Rejects_with_dapr_text(string spec, string message)
    {
        var e = Assert.Throws<ScheduleFormatException>(() => ScheduleParser.Parse(spec));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Zone_less_spec_is_utc_whatever_the_process_zone()
    {
        var schedule = (CronSchedule)ScheduleParser.Parse("0 0 9 * * *");
        Assert.Equal(TimeZoneInfo.Utc, schedule.Zone);
    }

    [Fact]
    public void Cron_that_never_matches_has_no_next()
    {
        Assert.Null(ScheduleParser.Parse("0 0 0 30 2 *").Next(Utc("2026-01-01T00:00:00Z")));
    }
}
