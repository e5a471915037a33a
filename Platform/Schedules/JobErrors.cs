namespace Platform.Scheduler.Schedules;

// Every refusal a job can meet, kept together so that EngineErrorInterceptor (the one place that turns them into gRPC
// statuses) can be checked against this file at a glance.

/// <summary>A job the engine refuses; the message is what Dapr's scheduler answers (gRPC Unknown).</summary>
public sealed class JobValidationException(string message) : Exception(message);

/// <summary>
/// A request field the API refuses outright (gRPC InvalidArgument), before anything is stored: malformed protobuf
/// well-known types. The message follows Dapr's form (<c>job failed validation: …</c>, protobuf's own texts).
/// </summary>
public sealed class JobArgumentException(string message) : Exception(message);

/// <summary>ScheduleJob without overwrite for a name that exists (gRPC AlreadyExists); the message is Dapr's.</summary>
/// <param name="key">The job's key as Dapr renders it (<c>app||namespace||app id||name</c>).</param>
public sealed class JobAlreadyExistsException(string key) : Exception($"job already exists: '{key}'");

/// <summary>A job the app's quota has no room for (count or payload size); the gRPC answer is RESOURCE_EXHAUSTED.</summary>
public sealed class JobQuotaException(string message) : Exception(message);
