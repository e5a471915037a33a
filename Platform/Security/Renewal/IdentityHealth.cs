namespace Platform.Security.Renewal;

/// <summary>What a process's health endpoint says of its identity: nothing while the certificate is valid.</summary>
public static class IdentityHealth
{
    /// <summary>Why the identity cannot be used now (its certificate has expired, and why renewal did not help), or null.</summary>
    public static string? HealthProblem(this WorkloadIdentity? identity, TimeProvider? time = null)
    {
        if (identity is null) return null;
        var notAfter = new DateTimeOffset(identity.Certificate.NotAfter.ToUniversalTime());
        if ((time ?? TimeProvider.System).GetUtcNow() < notAfter) return null;
        return $"the certificate of {identity.Id} expired at {notAfter:O}"
            + (identity.RenewalError is { } error ? $"; renewal failing: {error}" : "; nothing renews it");
    }
}
