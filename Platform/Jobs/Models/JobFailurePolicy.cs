namespace Platform.Jobs.Models;

/// <summary>What the scheduler does when a trigger fails.</summary>
public enum JobFailurePolicy
{
    /// <summary>Give up on that trigger.</summary>
    Drop,
    /// <summary>Retry at a constant interval, up to an optional maximum.</summary>
    Constant,
}
