using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Tests.Schedules;

public class JobTimingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string?, uint?, string?, string?, string> Rejections => new()
    {
        { null, null, null, null, "job failed validation: job must have either a due time or a schedule" },
        { "@daily", 0u, null, null, "job failed validation: defined repeats must be greater than 0" },
        { null, 2u, "10s", null, "job failed validation: job must have a schedule to repeat" },
        { null, null, "10s", "20s", "job failed validation: job must have a schedule to have a ttl" },
        { null, null, "abc", null, "job failed validation: due time format not recognized" },
        { null, null, "R2/PT1S", null, "job failed validation: repeats not supported for due time" },
        { "@daily", null, null, "abc", "job failed validation: ttl format not recognized" },
        { "@daily", null, null, "R2/PT1S", "job failed validation: ttl format not recognized" },
        { "@daily", null, "10s", "2026-11-23T12:00:05Z", "job failed validation: ttl must be greater than due time" },
        { "@daily", null, "10s", "-5s", "job failed validation: ttl must be greater than due time" },
        { "* * * * *", null, null, null, "job failed validation: expected exactly 6 fields, found 5: [* * * * *]" },
        { "R5/PT1M", null, null, null, "job failed validation: expected exactly 6 fields, found 1: [R5/PT1M]" },
        { "CRON_TZ=Not/AZone 0 0 9 * * *", null, null, null, "job failed validation: provided bad location Not/AZone: unknown time zone Not/AZone" },
        { "0 0 0 30 2 *", null, null, null, "job failed validation: schedule \"0 0 0 30 2 *\" never matches a time" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void Rejects_with_dapr_text(string? schedule, uint? repeats, string? dueTime, string? ttl, string message)
    {
        var e = Assert.Throws<JobValidationException>(() => JobTiming.Resolve(new JobTimingSpec(schedule, repeats, dueTime, ttl), Now));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Due_time_and_ttl_are_relative_as_dapr_resolves_them()
    {
        var t = JobTiming.Resolve(new JobTimingSpec("@every 1m", 123, "1000s", "123s"), Now);
        Assert.Equal(Now.AddSeconds(1000), t.Due);
        Assert.Equal(Now.AddSeconds(1123), t.Expiration);   // ttl counts from the due time
        var noDue = JobTiming.Resolve(new JobTimingSpec("@every 1m", null, null, "P1D"), Now);
        Assert.Null(noDue.Due);
        Assert.Equal(Now.AddDays(1), noDue.Expiration);     // ... or from creation
    }

    [Theory]
    [InlineData("2026-11-23T13:00:00Z", "2026-11-23T13:00:00Z")]
    [InlineData("2026-11-23T14:00:00.5+01:00", "2026-11-23T13:00:00.5Z")]
    [InlineData("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z")]   // past: fires immediately
    [InlineData("0s", "2026-11-23T12:00:00Z")]
    [InlineData("-10s", "2026-11-23T11:59:50Z")]
    [InlineData("1h30m", "2026-11-23T13:30:00Z")]
    [InlineData("P1DT1H", "2026-11-24T13:00:00Z")]
    [InlineData("PT0S", "2026-11-23T12:00:00Z")]
    public void Due_time_forms(string dueTime, string expected)
    {
        var t = JobTiming.Resolve(new JobTimingSpec(null, null, dueTime, null), Now);
        Assert.Equal(DateTimeOffset.Parse(expected).ToUniversalTime(), t.Due);
    }

    [Fact]
    public void Creation_is_truncated_to_the_second_as_dapr_does()
    {
        var t = JobTiming.Resolve(new JobTimingSpec("@every 1s", null, "0s", "5s"), Now.AddMilliseconds(700));
        Assert.Equal(Now, t.Created);
        Assert.Equal(Now, t.Due);
        Assert.Equal(Now.AddSeconds(5), t.Expiration);
    }

    [Fact]
    public void Equal_ttl_and_due_time_is_allowed()
    {
        var t = JobTiming.Resolve(new JobTimingSpec("@daily", null, "10s", "0s"), Now);
        Assert.Equal(t.Due, t.Expiration);
    }

    [Theory]
    [InlineData("good-name")]
    [InlineData("my||job@name")]
    [InlineData("UPPER case")]
    public void Names_dapr_accepts(string name) => JobNameValidator.Validate(name);

    [Theory]
    [InlineData("bad/name")]
    [InlineData("bad\\name")]
    [InlineData("bad#name")]
    [InlineData("bad?name")]
    [InlineData("bad\0name")]
    [InlineData("bad\nname")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("")]
    public void Names_dapr_rejects(string name)
    {
        var e = Assert.Throws<JobValidationException>(() => JobNameValidator.Validate(name));
        Assert.StartsWith("job name is invalid ", e.Message);
    }

    [Fact]
    public void Six_hundred_character_name_is_rejected() =>
        Assert.Throws<JobValidationException>(() => JobNameValidator.Validate(new string('a', 600)));
}
