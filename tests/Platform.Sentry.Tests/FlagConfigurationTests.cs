using Platform.Security;
using TestSupport;

namespace Platform.Sentry.Tests;

public sealed class FlagConfigurationTests
{
    [Fact]
    public async Task The_sentry_is_configured_by_flags_alone_and_watches_no_settings_file()
    {
        await using var sentry = await SentryProcess.StartAsync(new Dictionary<SpiffeId, string> { [SpiffeId.Scheduler()] = "token" }, "1h");
        // A settings file reloaded on change would put a watcher over the working directory.
        Assert.Equal(0, ProcessProbe.InotifyInstances(sentry.Process.Id));
    }
}
