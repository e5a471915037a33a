using Microsoft.AspNetCore.Authentication;

namespace BackupApi;

public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>From <c>BackupApi:ApiKey</c> (the AppHost's secret parameter <c>backupapi-key</c>); at least 16 characters.</summary>
    public string ApiKey { get; set; } = "";
}
