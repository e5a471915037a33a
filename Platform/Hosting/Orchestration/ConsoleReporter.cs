namespace Platform.Hosting.Orchestration;

/// <summary>
/// Writes the AppHost's console: every resource's output prefixed with its name in a color of its own (stable: the
/// resource's position in the model), and each state change.
/// </summary>
internal sealed class ConsoleReporter : IDisposable
{
    private static readonly string[] Palette = ["\u001b[36m", "\u001b[33m", "\u001b[35m", "\u001b[32m", "\u001b[34m", "\u001b[96m", "\u001b[93m", "\u001b[95m"];
    private const string Reset = "\u001b[0m";
    private const string Bold = "\u001b[1m";

    private readonly object _gate = new();
    private readonly Dictionary<string, string> _colors = new(StringComparer.OrdinalIgnoreCase);
    private readonly int _width;
    private readonly bool _color;
    private readonly ResourceNotificationService _notifications;
    private readonly ResourceLoggerService _logs;
    private readonly TextWriter _out;

    public ConsoleReporter(IReadOnlyList<ProcessResource> resources, ResourceNotificationService notifications, ResourceLoggerService logs, TextWriter output)
    {
        _out = output;
        _color = !Console.IsOutputRedirected || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION") == "true";
        for (var i = 0; i < resources.Count; i++) _colors[resources[i].Name] = Palette[i % Palette.Length];
        _width = Math.Max(7, resources.Count == 0 ? 0 : resources.Max(r => r.Name.Length));
        _notifications = notifications;
        _logs = logs;
        notifications.Changed += OnChanged;
        logs.LineLogged += OnLine;
    }

    public void Info(string text) => Write("apphost", Bold, text);

    private void OnLine(string resource, LogLine line) => Write(resource, _colors.GetValueOrDefault(resource, ""), line.Text);

    private void OnChanged(ResourceEvent now, ResourceEvent? before)
    {
        var s = now.Snapshot;
        var b = before?.Snapshot;
        if (b is null) return; // the initial NotStarted of every resource says nothing
        if ( b.State == s.State && b.HealthStatus == s.HealthStatus && b.Pid == s.Pid) return;
        var detail = s.State switch
        {
            KnownResourceStates.Running => $"Running{(s.Pid is { } pid ? $" (pid {pid})" : "")}{(s.HealthStatus is { } h ? $", {h}" : "")}",
            KnownResourceStates.Exited or KnownResourceStates.Finished => $"{s.State} (exit code {s.ExitCode})",
            _ => s.State,
        };
        Write("apphost", Bold, $"{now.Resource.Name}: {detail}");
    }

    private void Write(string name, string color, string text)
    {
        lock (_gate)
        {
            var prefix = name.PadRight(_width);
            _out.WriteLine(_color ? $"{color}{prefix}{Reset} | {text}" : $"{prefix} | {text}");
        }
    }

    public void Dispose()
    {
        _notifications.Changed -= OnChanged;
        _logs.LineLogged -= OnLine;
        lock (_gate) _out.Flush();
    }
}
