namespace Platform.Security;

/// <summary>An identity that cannot be loaded or does not fit: the process refuses to start with this message.</summary>
public sealed class IdentityException(string message, Exception? inner = null) : Exception(message, inner);
