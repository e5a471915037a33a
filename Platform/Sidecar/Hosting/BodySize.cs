using System.Globalization;

namespace Platform.Sidecar.Hosting;

/// <summary>
/// daprd's body size bound: <c>--max-body-size</c> takes a Kubernetes resource quantity ("4Mi", "512Ki", "1G", or plain
/// bytes) and bounds HTTP request bodies and gRPC messages alike; the deprecated <c>--dapr-http-max-request-size</c>
/// (whole megabytes) still wins when given, as in daprd.
/// </summary>
public static class BodySize
{
    public const string Default = "4Mi";
    public const int DefaultBytes = 4 * 1024 * 1024;

    private static readonly (string Suffix, long Factor)[] Suffixes =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30),
        ("k", 1_000), ("M", 1_000_000), ("G", 1_000_000_000),
    ];

    /// <summary>Bytes of a quantity, when it is a whole number of bytes from 1 to <see cref="int.MaxValue"/>.</summary>
    public static bool TryParse(string value, out int bytes)
    {
        bytes = 0;
        var number = value;
        long factor = 1;
        foreach (var (suffix, f) in Suffixes)
        {
            if (!value.EndsWith(suffix, StringComparison.Ordinal)) continue;
            number = value[..^suffix.Length];
            factor = f;
            break;
        }
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0) return false;
        if (n > int.MaxValue / factor) return false;
        bytes = (int)(n * factor);
        return true;
    }

    /// <summary>The bound in bytes from the two flags' values (already checked by the flag parser).</summary>
    public static int Resolve(string maxBodySize, int? httpMaxRequestSizeMb) =>
        httpMaxRequestSizeMb is > 0 and var mb ? (int)Math.Min((long)mb << 20, int.MaxValue)
        : TryParse(maxBodySize, out var bytes) ? bytes : DefaultBytes;
}
