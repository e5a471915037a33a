using System.Runtime.Serialization;

namespace Platform.Jobs;

/// <summary>Days as cron writes them; named like Dapr's, so prefer it over <see cref="System.DayOfWeek"/> with the builder.</summary>
public enum DayOfWeek
{
    [EnumMember(Value = "SUN")] Sunday = 0,
    [EnumMember(Value = "MON")] Monday = 1,
    [EnumMember(Value = "TUE")] Tuesday = 2,
    [EnumMember(Value = "WED")] Wednesday = 3,
    [EnumMember(Value = "THU")] Thursday = 4,
    [EnumMember(Value = "FRI")] Friday = 5,
    [EnumMember(Value = "SAT")] Saturday = 6,
}
