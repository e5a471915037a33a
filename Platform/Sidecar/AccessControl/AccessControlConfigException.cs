namespace Platform.Sidecar.AccessControl;

/// <summary>A --config file that cannot be read or is not a valid Configuration: the sidecar refuses to start with this message.</summary>
public sealed class AccessControlConfigException(string message, Exception? inner = null) : Exception(message, inner);
