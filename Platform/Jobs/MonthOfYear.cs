using System.Runtime.Serialization;

namespace Platform.Jobs;

public enum MonthOfYear
{
    [EnumMember(Value = "JAN")] January = 1,
    [EnumMember(Value = "FEB")] February = 2,
    [EnumMember(Value = "MAR")] March = 3,
    [EnumMember(Value = "APR")] April = 4,
    [EnumMember(Value = "MAY")] May = 5,
    [EnumMember(Value = "JUN")] June = 6,
    [EnumMember(Value = "JUL")] July = 7,
    [EnumMember(Value = "AUG")] August = 8,
    [EnumMember(Value = "SEP")] September = 9,
    [EnumMember(Value = "OCT")] October = 10,
    [EnumMember(Value = "NOV")] November = 11,
    [EnumMember(Value = "DEC")] December = 12,
}
