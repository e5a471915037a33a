using TestSupport;

namespace BackupWorker.Tests.Repositories;

/// <summary>One Azurite for a test class (none when it is not installed: the tests skip then).</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException(AzuriteProcess.MissingReason ?? "Azurite is not started.");

    public async Task InitializeAsync()
    {
        if (AzuriteProcess.MissingReason is null) _azurite = await AzuriteProcess.StartNewAsync();
    }

    public async Task DisposeAsync()
    {
        if (_azurite is not null) await _azurite.DisposeAsync();
    }
}
