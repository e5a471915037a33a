using System.Text;

namespace Platform.Sidecar.AppChannel;

/// <summary>Byte helpers that reproduce Go standard-library behaviour daprd's output depends on.</summary>
public static class GoBytes
{
    /// <summary>Go's bytes.TrimSpace: strips leading and trailing Unicode white space, decoding UTF-8; invalid bytes stop it.</summary>
    public static ReadOnlyMemory<byte> TrimSpace(ReadOnlyMemory<byte> input)
    {
        var span = input.Span;
        var start = 0;
        while (start < span.Length)
        {
            if (Rune.DecodeFromUtf8(span[start..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done
                || !Rune.IsWhiteSpace(rune)) break;
            start += consumed;
        }
        var end = span.Length;
        while (end > start)
        {
            if (Rune.DecodeLastFromUtf8(span[start..end], out var rune, out var consumed) != System.Buffers.OperationStatus.Done
                || !Rune.IsWhiteSpace(rune)) break;
            end -= consumed;
        }
        return input[start..end];
    }
}
