using System.Security.Cryptography;
using System.Text;
using Platform.Security;

namespace Platform.Sentry;

/// <summary>
/// Who may ask for which identity: each SPIFFE id has one bootstrap token, and the Sentry keeps only its SHA-256, so
/// nothing it holds would let anyone ask in another's name. A token is checked against the one issued for the id the
/// request names, in constant time; no token works for any other id.
/// </summary>
public sealed class BootstrapTokens
{
    /// <summary>Longer tokens are refused unread.</summary>
    public const int MaxTokenLength = 1024;

    private readonly Dictionary<string, byte[]> _hashes;

    private BootstrapTokens(Dictionary<string, byte[]> hashes) => _hashes = hashes;

    public int Count => _hashes.Count;

    /// <summary>Parses <c>&lt;spiffe id&gt;=&lt;sha-256 hex&gt;[,…]</c>; throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static BootstrapTokens Parse(string? text)
    {
        var hashes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = entry.LastIndexOf('=');
            if (at <= 0 || !SpiffeId.TryParse(entry[..at], out var id) || id.ToString() != entry[..at])
                throw new FormatException($"bootstrap token entry '{Shorten(entry)}' is not <spiffe id>=<sha-256 hex>");
            byte[] hash;
            try { hash = Convert.FromHexString(entry[(at + 1)..]); }
            catch (FormatException) { hash = []; }
            if (hash.Length != SHA256.HashSizeInBytes) throw new FormatException($"bootstrap token of {id} is not a SHA-256 in hex");
            if (!hashes.TryAdd(id.ToString(), hash)) throw new FormatException($"{id} has two bootstrap tokens");
        }
        return new BootstrapTokens(hashes);
    }

    /// <summary>The entry for <paramref name="id"/> with <paramref name="token"/>, as the AppHost writes it.</summary>
    public static string Entry(SpiffeId id, string token) => $"{id}={Convert.ToHexStringLower(Hash(token))}";

    /// <summary>Whether <paramref name="token"/> is the one issued for <paramref name="id"/>.</summary>
    public bool Allows(SpiffeId id, string token)
    {
        if (token.Length is 0 or > MaxTokenLength) return false;
        var presented = Hash(token);
        // Unknown ids are compared too, so the time taken does not tell which ids have tokens.
        var expected = _hashes.TryGetValue(id.ToString(), out var hash) ? hash : new byte[SHA256.HashSizeInBytes];
        return CryptographicOperations.FixedTimeEquals(presented, expected) && hash is not null;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Shorten(string entry) => entry.Length > 80 ? entry[..80] + "…" : entry;
}
