namespace AppHost.Tests;

/// <summary>One AppHost start, with its dashboard open, shared by the classes that look at its terminal and its API UI.</summary>
[CollectionDefinition(AppHostTerminal.Collection)]
public sealed class AppHostTerminalCollection : ICollectionFixture<AppHostTerminal>;
