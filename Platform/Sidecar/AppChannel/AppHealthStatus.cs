namespace Platform.Sidecar.AppChannel;

/// <summary>The app's health as the sidecar last saw it; Unknown until a probe has answered.</summary>
public enum AppHealthStatus { Unknown, Healthy, Unhealthy }
