namespace BackupApi.Tests;

/// <summary>
/// The API's early check of a new schedule, without a process: each rule names the field it refuses, and a request
/// that passes every rule yields no errors (the worker and Dapr then have the last word).
/// </summary>
public class ScheduleValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static CreateScheduleRequest Valid() => new("nightly", "my-prod-db", "backups/nightly", "@daily");

    [Fact]
    public void A_well_formed_request_has_no_errors()
    {
        Assert.Empty(ScheduleValidator.Validate(Valid(), Now));
        Assert.Empty(ScheduleValidator.Validate(Valid() with { Name = null, Location = null, Schedule = null, DueTime = "10m" }, Now));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(" ")]
    [InlineData("-starts-with-a-dash")]
    [InlineData("has space")]
    public void A_missing_or_malformed_database_is_refused_on_database(string? database) =>
        Assert.Equal(["database"], ScheduleValidator.Validate(Valid() with { Database = database }, Now).Keys);

    [Theory]
    [InlineData("../escape")]
    [InlineData("/absolute")]
    [InlineData("a//b")]
    [InlineData(".hidden")]
    [InlineData("c:drive")]
    public void A_location_leaving_the_backup_root_is_refused_on_location(string location) =>
        Assert.Equal(["location"], ScheduleValidator.Validate(Valid() with { Location = location }, Now).Keys);

    [Fact]
    public void Neither_schedule_nor_due_time_is_refused_on_schedule() =>
        Assert.Equal(["schedule"], ScheduleValidator.Validate(Valid() with { Schedule = null }, Now).Keys);

    [Theory]
    [InlineData("@every 1ns")]
    [InlineData("@every 500ms")]
    public void An_every_period_under_a_second_is_refused(string schedule) =>
        Assert.Equal(["schedule"], ScheduleValidator.Validate(Valid() with { Schedule = schedule }, Now).Keys);

    [Fact]
    public void Empty_optional_fields_are_refused_rather_than_read_as_left_out()
    {
        var errors = ScheduleValidator.Validate(Valid() with { Ttl = "", Retention = new RetentionRequest(3, " ") }, Now);
        Assert.Equal(["retention.maxAge", "ttl"], errors.Keys.Order());
    }

    [Fact]
    public void Repeats_and_retention_bounds_are_checked_per_field()
    {
        var errors = ScheduleValidator.Validate(Valid() with { Repeats = 0, Retention = new RetentionRequest(0, "-1h", 0) }, Now);
        Assert.Equal(["repeats", "retention.keepLast", "retention.maxAge", "retention.minimumRedundancy"], errors.Keys.Order());
    }

    [Fact]
    public void A_ttl_before_the_due_time_is_refused()
    {
        // A ttl given as a duration counts from the due time, so only an instant can fall before it.
        var errors = ScheduleValidator.Validate(Valid() with { DueTime = Now.AddHours(2).ToString("O"), Ttl = Now.AddHours(1).ToString("O") }, Now);
        Assert.Equal(["ttl"], errors.Keys);
    }

    [Fact]
    public void A_past_due_time_is_refused_only_when_its_catch_up_exceeds_the_bound()
    {
        var fewMissed = Valid() with { Schedule = "@every 1h", DueTime = Now.AddHours(-2).ToString("O") };
        var manyMissed = Valid() with { Schedule = "@every 1h", DueTime = Now.AddHours(-48).ToString("O") };
        Assert.Empty(ScheduleValidator.Validate(fewMissed, Now, maxMissedBackups: 5));
        Assert.Equal(["dueTime"], ScheduleValidator.Validate(manyMissed, Now, maxMissedBackups: 5).Keys);
    }

    [Theory]
    [InlineData("valid-name.1", true)]
    [InlineData("", false)]
    [InlineData("_leading-underscore", false)]
    [InlineData("a/b", false)]
    public void Route_names_follow_the_job_name_rule(string name, bool expected) =>
        Assert.Equal(expected, ScheduleValidator.IsName(name));
}
