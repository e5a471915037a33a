using System.Globalization;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// The facts an object carries in its storage metadata: only what reading it needs (format, compression, sizes and
/// checksums). An encrypted object's original size and digest are sealed (see <see cref="SealedFacts"/>); no key, no
/// connection string, no database name.
/// </summary>
internal static class ObjectMetadata
{
    private const string FormatVersion = "bwformat";
    private const string Compression = "compression";
    private const string Encrypted = "encrypted";
    private const string Header = "header";
    private const string StoredBytes = "storedbytes";
    private const string StoredSha256 = "storedsha256";
    private const string OriginalBytes = "originalbytes";
    private const string OriginalSha256 = "originalsha256";
    private const string OriginalSealed = "originalsealed";

    public static Dictionary<string, string> From(WrittenObject written)
    {
        var metadata = new Dictionary<string, string>
        {
            [FormatVersion] = ObjectHeader.Version.ToString(CultureInfo.InvariantCulture),
            [Compression] = written.Header.Compression,
            [Encrypted] = written.Header.Encrypted ? "true" : "false",
            [Header] = Convert.ToBase64String(written.Header.Bytes),
            [StoredBytes] = written.StoredBytes.ToString(CultureInfo.InvariantCulture),
            [StoredSha256] = written.StoredSha256,
        };
        if (written.SealedOriginal is { } sealedOriginal) metadata[OriginalSealed] = sealedOriginal;
        else
        {
            metadata[OriginalBytes] = written.OriginalBytes.ToString(CultureInfo.InvariantCulture);
            metadata[OriginalSha256] = written.OriginalSha256;
        }
        return metadata;
    }

    public static RepositoryObject Record(string key, WrittenObject written) =>
        new(key, written.StoredBytes, written.OriginalBytes, written.StoredSha256, written.OriginalSha256, written.Header.Compression, written.Header.Encrypted);

    /// <summary>The stored size and digest alone: what can be checked without the key.</summary>
    public static (long Bytes, string Sha256) Stored(IDictionary<string, string> metadata) =>
        (Long(metadata, StoredBytes), Text(metadata, StoredSha256));

    /// <summary>
    /// The object's record from its metadata. <see cref="RepositoryContentException"/> when the metadata is missing or
    /// damaged; <see cref="RepositoryKeyException"/> when the object is encrypted and <paramref name="repositoryKey"/>
    /// is absent or not its key.
    /// </summary>
    public static RepositoryObject Read(string key, IDictionary<string, string> metadata, byte[]? repositoryKey)
    {
        var metadataIgnoringCase = new Dictionary<string, string>(metadata, StringComparer.OrdinalIgnoreCase);
        if (!metadataIgnoringCase.TryGetValue(FormatVersion, out var version))
            throw new RepositoryContentException("The object has no backup metadata: it was not written by a completed backup.");
        if (version != ObjectHeader.Version.ToString(CultureInfo.InvariantCulture))
            throw new RepositoryContentException($"The object has format version {version}; this worker reads version {ObjectHeader.Version}.");
        var header = ParseHeader(Text(metadataIgnoringCase, Header));
        var (storedBytes, storedSha) = Stored(metadataIgnoringCase);
        long originalBytes;
        string originalSha;
        if (header.Encrypted)
        {
            if (repositoryKey is null) throw new RepositoryKeyException("The object is encrypted, and the repository has no encryption key configured.");
            using var keys = ObjectKeys.ForStoredObject(repositoryKey, header);
            (originalBytes, originalSha) = SealedFacts.Open(keys, header, Text(metadataIgnoringCase, OriginalSealed));
        }
        else
        {
            originalBytes = Long(metadataIgnoringCase, OriginalBytes);
            originalSha = Text(metadataIgnoringCase, OriginalSha256);
        }
        return new RepositoryObject(key, storedBytes, originalBytes, storedSha, originalSha, header.Compression, header.Encrypted);
    }

    private static ObjectHeader ParseHeader(string text)
    {
        var bytes = new byte[ObjectHeader.EncryptedLength];
        if (!Convert.TryFromBase64String(text, bytes, out var written))
            throw new RepositoryContentException("The object's metadata is damaged (header).");
        return ObjectHeader.Parse(bytes.AsSpan(0, written));
    }

    private static string Text(IDictionary<string, string> metadata, string name) =>
        metadata.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new RepositoryContentException($"The object's metadata is incomplete ({name}).");

    private static long Long(IDictionary<string, string> metadata, string name) =>
        long.TryParse(Text(metadata, name), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new RepositoryContentException($"The object's metadata is damaged ({name}).");
}
