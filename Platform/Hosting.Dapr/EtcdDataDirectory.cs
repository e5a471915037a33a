using Platform.Security;

namespace Platform.Hosting.Dapr;

/// <summary>
/// The etcd cluster's directory, kept private (0700, the members' data directories too: they hold every job's payload)
/// and marked with the scheme its members speak (<c>scheme</c>: <c>https</c> or <c>http</c>). A member keeps its peers'
/// URLs with its data, so members that spoke plain text cannot form a cluster over TLS: the data of such an open
/// cluster is marked <c>import-pending</c> and moved aside to <c>etcd-open-&lt;time&gt;</c> (kept, private); the locked
/// cluster starts empty and the scheduler's keys are carried over from that directory before any replica starts
/// (<see cref="EtcdImport.EtcdOpenDataImport"/>), which then renames it <c>…-imported</c>.
/// </summary>
internal static class EtcdDataDirectory
{
    public const string SchemeFileName = "scheme";
    public const string PendingImportFileName = "import-pending";

    /// <summary>Prepares the directory; returns the open directories whose keys are still to be imported, oldest first.</summary>
    public static IReadOnlyList<string> Prepare(string etcdDirectory, IReadOnlyList<string> members, string scheme)
    {
        if (Directory.Exists(etcdDirectory) && SchemeOf(etcdDirectory) is { } previous && previous != scheme)
        {
            // Marked inside before it moves, so that no crash can leave it set aside and forgotten. Only open data goes
            // into a locked cluster: locked data is never carried into an open one.
            if (previous == "http" && scheme == "https")
                File.WriteAllText(Path.Combine(etcdDirectory, PendingImportFileName), "scheduler keys to import into the locked cluster\n");
            var setAside = $"{etcdDirectory}-{(previous == "http" ? "open" : previous)}-{DateTime.UtcNow:yyyyMMddTHHmmss}";
            Directory.Move(etcdDirectory, setAside);
            MakePrivate(setAside);
        }
        var pending = scheme == "https" ? PendingImports(etcdDirectory) : [];
        var fresh = !File.Exists(Path.Combine(etcdDirectory, EtcdPeerPorts.FileName));
        MakePrivate(etcdDirectory);
        foreach (var member in members) MakePrivate(Path.Combine(etcdDirectory, member));
        // The new members' peer ports, none of them one the old members keep: those run beside the new ones during the import.
        if (fresh && pending.Count > 0)
            EtcdPeerPorts.LoadOrAllocate(etcdDirectory, members, pending.SelectMany(d => EtcdPeerPorts.Load(d).Values).ToHashSet());
        File.WriteAllText(Path.Combine(etcdDirectory, SchemeFileName), scheme);
        return pending;
    }

    /// <summary>
    /// The open directories beside <paramref name="etcdDirectory"/> (<c>etcd-open-&lt;time&gt;</c>) marked
    /// <c>import-pending</c> and not yet renamed <c>…-imported</c>, oldest first.
    /// </summary>
    public static IReadOnlyList<string> PendingImports(string etcdDirectory)
    {
        var full = Path.GetFullPath(etcdDirectory);
        var parent = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(parent)) return [];
        return [.. Directory.GetDirectories(parent, Path.GetFileName(full) + "-open-*")
            .Where(d => !d.EndsWith(ImportedSuffix, StringComparison.Ordinal) && File.Exists(Path.Combine(d, PendingImportFileName)))
            .Order(StringComparer.Ordinal)];
    }

    public const string ImportedSuffix = "-imported";

    /// <summary>Done: the open directory is renamed <c>…-imported</c>, kept (and private) as it was.</summary>
    public static string CompleteImport(string openDirectory)
    {
        var imported = openDirectory + ImportedSuffix;
        Directory.Move(openDirectory, imported);
        return imported;
    }

    /// <summary>The scheme the directory's members spoke; null for a directory with no member data yet.</summary>
    private static string? SchemeOf(string etcdDirectory)
    {
        var file = Path.Combine(etcdDirectory, SchemeFileName);
        if (File.Exists(file)) return File.ReadAllText(file).Trim();
        // Written before the marker existed: members then always spoke plain text.
        return File.Exists(Path.Combine(etcdDirectory, EtcdPeerPorts.FileName)) ? "http" : null;
    }

    private static void MakePrivate(string directory)
    {
        CertificateAuthority.CreatePrivateDirectory(directory);
        // A directory made before (by an earlier version, or umask 022) keeps its mode unless it is set here.
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
