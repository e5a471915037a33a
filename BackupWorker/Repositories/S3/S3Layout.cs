namespace BackupWorker.Repositories.S3;

/// <summary>
/// Where an object lives in the bucket. A repository object is two S3 objects: its bytes, under the key with a
/// per-upload suffix, and its manifest, under the key itself: empty, with the object's metadata and the upload the
/// bytes belong to. The manifest is written last, in one request, once the bytes are complete: an upload that fails
/// at any point before leaves no manifest (or the earlier one, naming the earlier bytes), so nothing half-written is
/// ever read as a backup. S3 takes an object's metadata only when an upload starts, before its checksums are known,
/// hence the separate manifest.
/// </summary>
internal sealed class S3Layout(string prefix)
{
    /// <summary>Not a character of <see cref="ObjectKeyRules"/>: no repository key can name another's bytes.</summary>
    private const char UploadSeparator = '~';

    /// <summary>The manifest's metadata entry naming the upload its bytes belong to.</summary>
    public const string UploadMetadata = "upload";

    /// <summary><paramref name="prefix"/> as configured, with one '/' at its end (none when empty).</summary>
    public string Prefix { get; } = prefix.Trim('/') is { Length: > 0 } trimmed ? trimmed + "/" : "";

    public string Manifest(string key) => Prefix + key;

    public string Bytes(string key, string upload) => $"{Prefix}{key}{UploadSeparator}{upload}";

    /// <summary>An upload id as this repository writes them (32 hex digits): anything else in a manifest is damage.</summary>
    public static bool IsUpload(string? upload) => upload is { Length: 32 } && upload.All(char.IsAsciiHexDigitLower);
}
