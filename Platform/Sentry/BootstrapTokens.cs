using System.Security.Cryptography;
using System.Text;
using Platform.Security;

namespace Platform.Sentry;

/// <summary>
/// Who may ask for which identity: each process has its own bootstrap token for its SPIFFE id (replicas of one app id
/// each their own), and the Sentry keeps only their SHA-256, so nothing it holds would let anyone ask in another's name.
/// A token is checked against those issued for the id the request names, in constant time; no token works for any other id.
/// </summary>
public sealed class BootstrapTokens
{
    /// <summary>Longer tokens are refused unread.</summary>
    public const int MaxTokenLength = 1024;

    private readonly Dictionary<string, List<byte[]>> _hashes;

    private BootstrapTokens(Dictionary<string, List<byte[]>> hashes) => _hashes = hashes;

    public int Count => _hashes.Values.Sum(h => h.Count);

    /// <summary>The identities that have tokens, as SPIFFE ids.</summary>
    public IEnumerable<SpiffeId> Ids => _hashes.Keys.Select(k => SpiffeId.TryParse(k, out var id) ? id : throw new InvalidOperationException(k));

    /// <summary>Parses <c>&lt;spiffe id&gt;=&lt;sha-256 hex&gt;[,…]</c>; throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static BootstrapTokens Parse(string? text)
    {
        var hashes = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        foreach (var entry in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = entry.LastIndexOf('=');
            if (at <= 0 || !SpiffeId.TryParse(entry[..at], out var id) || id.ToString() != entry[..at])
                throw new FormatException($"bootstrap token entry '{Shorten(entry)}' is not <spiffe id>=<sha-256 hex>");
            byte[] hash;
            try { hash = Convert.FromHexString(entry[(at + 1)..]); }
            catch (FormatException) { hash = []; }
            if (hash.Length != SHA256.HashSizeInBytes) throw new FormatException($"bootstrap token of {id} is not a SHA-256 in hex");
            if (!hashes.TryGetValue(id.ToString(), out var list)) hashes[id.ToString()] = list = [];
            if (list.Any(h => h.AsSpan().SequenceEqual(hash))) throw new FormatException($"{id} has the same bootstrap token twice");
            list.Add(hash);
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
        if (!_hashes.TryGetValue(id.ToString(), out var expected))
        {
            CryptographicOperations.FixedTimeEquals(presented, new byte[SHA256.HashSizeInBytes]);
            return false;
        }
        var match = false;
        foreach (var hash in expected) match |= CryptographicOperations.FixedTimeEquals(presented, hash);
        return match;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Shorten(string entry) => entry.Length > 80 ? entry[..80] + "…" : entry;
}
