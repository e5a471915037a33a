using System.Runtime.InteropServices;
using SQLitePCL;

namespace Platform.Scheduler.Storage;

/// <summary>
/// SQLite's column accessors called straight on the statement's pointer. Through <see cref="raw"/> every call takes and
/// releases the statement's SafeHandle and goes through a marshalling stub with a GC transition: at 20 columns of 1M
/// rows that was a tenth of the start-up load. These calls only read the current row of a statement the caller keeps
/// alive, never block and never call back, which is what <see cref="SuppressGCTransitionAttribute"/> requires.
/// </summary>
internal readonly unsafe struct SqliteColumns
{
    private const string Library = "e_sqlite3";
    private readonly nint _statement;

    /// <summary>The caller keeps <paramref name="statement"/> (and its handle) alive while this is used.</summary>
    public SqliteColumns(sqlite3_stmt statement) => _statement = statement.DangerousGetHandle();

    public int Type(int column) => sqlite3_column_type(_statement, column);

    public long Int64(int column) => sqlite3_column_int64(_statement, column);

    /// <summary>The column's bytes as a blob (text as UTF-8), valid until the statement steps or is reset.</summary>
    public ReadOnlySpan<byte> Bytes(int column)
    {
        // The pointer first: it may convert the value, after which the length is that of the converted bytes.
        var pointer = sqlite3_column_blob(_statement, column);
        var length = sqlite3_column_bytes(_statement, column);
        return pointer is null ? [] : new ReadOnlySpan<byte>(pointer, length);
    }

    /// <summary>
    /// The column as UTF-8 text (SQLite converts numbers), valid until the statement steps or is reset, up to its first
    /// NUL byte; false where SQLite gives no text at all. As <see cref="raw.sqlite3_column_text"/> reads it.
    /// </summary>
    public bool Text(int column, out ReadOnlySpan<byte> text)
    {
        var pointer = sqlite3_column_text(_statement, column);
        if (pointer is null)
        {
            text = default;
            return false;
        }
        text = new ReadOnlySpan<byte>(pointer, sqlite3_column_bytes(_statement, column));
        var end = text.IndexOf((byte)0);
        if (end >= 0) text = text[..end];
        return true;
    }

    [DllImport(Library), SuppressGCTransition]
    private static extern int sqlite3_column_type(nint statement, int column);

    [DllImport(Library), SuppressGCTransition]
    private static extern long sqlite3_column_int64(nint statement, int column);

    [DllImport(Library), SuppressGCTransition]
    private static extern byte* sqlite3_column_blob(nint statement, int column);

    [DllImport(Library), SuppressGCTransition]
    private static extern byte* sqlite3_column_text(nint statement, int column);

    [DllImport(Library), SuppressGCTransition]
    private static extern int sqlite3_column_bytes(nint statement, int column);
}
