using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>
/// What a database is beyond its contents, carried from the database a restore replaces to the restored one: a dump
/// (pg_dump without --create) holds none of it, so without this a replaced database would come back owned by the
/// restoring user, connectable by every role and without its settings. Read from the catalogs and re-applied by
/// statements the server itself generates with format('%I', '%L'), so no role name, setting or comment is ever
/// pasted into SQL unquoted; then compared, so a property that did not carry over stops the restore before the swap.
/// </summary>
internal static class PostgresDatabaseProperties
{
    // Variables: target (the database replaced), temp (the restored one).

    /// <summary>Creates the temp database with the target's encoding, collation, character type, locale provider and tablespace.</summary>
    private const string CreateLikeScript = """
        SELECT format('CREATE DATABASE %I WITH TEMPLATE template0 ENCODING %L LC_COLLATE %L LC_CTYPE %L TABLESPACE %I', :'temp',
                pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, t.spcname)
            -- Columns of later versions read by name, so the statement parses on every server version.
            || CASE to_jsonb(d) ->> 'datlocprovider'
                WHEN 'i' THEN format(' LOCALE_PROVIDER icu ICU_LOCALE %L', coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale'))
                WHEN 'b' THEN format(' LOCALE_PROVIDER builtin BUILTIN_LOCALE %L', to_jsonb(d) ->> 'datlocale')
                ELSE '' END
        FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = :'target'
        \gexec
        SELECT count(*) FROM pg_database WHERE datname = :'temp';
        """;

    /// <summary>Owner, privileges, settings (the database's and each role's in it), connection limit, flags and comment.</summary>
    private const string CarryOverScript = """
        SELECT format('ALTER DATABASE %I OWNER TO %I', :'temp', pg_get_userbyid(d.datdba)) FROM pg_database d WHERE d.datname = :'target'
        \gexec
        -- An explicit ACL replaces the default one (owner all, PUBLIC connect and temporary): start from nothing, grant
        -- each item in the order it was granted, as its grantor (the owner's grants are the superuser's own).
        SELECT v.statement FROM pg_database d CROSS JOIN LATERAL (VALUES
                (1, format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'temp')),
                (2, format('REVOKE ALL ON DATABASE %I FROM %I', :'temp', pg_get_userbyid(d.datdba)))) v(n, statement)
        WHERE d.datname = :'target' AND d.datacl IS NOT NULL ORDER BY v.n
        \gexec
        SELECT CASE WHEN a.grantor = d.datdba THEN g.statement ELSE format('SET ROLE %I; %s; RESET ROLE', pg_get_userbyid(a.grantor), g.statement) END
        FROM pg_database d
        CROSS JOIN LATERAL aclexplode(d.datacl) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, n)
        CROSS JOIN LATERAL (SELECT format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, :'temp',
                CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS statement) g
        WHERE d.datname = :'target' ORDER BY a.n
        \gexec
        SELECT format('ALTER DATABASE %I RESET ALL', :'temp')
        \gexec
        -- A stored setting is name=value with the value as the server flattened it. Lists whose items the server quotes
        -- as identifiers (search_path and the like, as pg_dump knows them) go back item by item, each a literal; any
        -- other value goes back as one literal.
        SELECT CASE WHEN s.setrole = 0 THEN format('ALTER DATABASE %I SET %I TO %s', :'temp', r.name, v.value)
                ELSE format('ALTER ROLE %I IN DATABASE %I SET %I TO %s', pg_get_userbyid(s.setrole), :'temp', r.name, v.value) END
        FROM pg_database d
        JOIN pg_db_role_setting s ON s.setdatabase = d.oid
        CROSS JOIN LATERAL unnest(s.setconfig) WITH ORDINALITY e(item, n)
        CROSS JOIN LATERAL (SELECT split_part(e.item, '=', 1) AS name, substr(e.item, strpos(e.item, '=') + 1) AS raw) r
        CROSS JOIN LATERAL (SELECT CASE WHEN lower(r.name) IN ('search_path', 'temp_tablespaces', 'local_preload_libraries',
                    'session_preload_libraries', 'shared_preload_libraries', 'unix_socket_directories')
                THEN (SELECT string_agg(quote_literal(coalesce(replace(m.part[1], '""', '"'), m.part[2])), ', ' ORDER BY m.k)
                    FROM regexp_matches(r.raw, '"((?:[^"]|"")*)"|([^",[:space:]]+)', 'g') WITH ORDINALITY m(part, k))
                END AS list) l
        CROSS JOIN LATERAL (SELECT coalesce(l.list, quote_literal(r.raw)) AS value) v
        WHERE d.datname = :'target'
        ORDER BY s.setrole, e.n
        \gexec
        SELECT format('ALTER DATABASE %I WITH CONNECTION LIMIT %s ALLOW_CONNECTIONS %s IS_TEMPLATE %s', :'temp',
                d.datconnlimit, d.datallowconn::text, d.datistemplate::text),
            format('COMMENT ON DATABASE %I IS %L', :'temp', shobj_description(d.oid, 'pg_database'))
        FROM pg_database d WHERE d.datname = :'target'
        \gexec
        """;

    /// <summary>The properties in which temp and target differ, comma-separated; empty when none.</summary>
    private const string DifferencesScript = """
        WITH p AS (
            SELECT v.property, v.value
            FROM pg_database d CROSS JOIN LATERAL (VALUES
                ('owner', pg_get_userbyid(d.datdba)::text),
                ('privileges', (SELECT string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(d.datacl) a)),
                ('settings', (SELECT string_agg(coalesce(quote_ident(pg_get_userbyid(nullif(s.setrole, 0::oid))), '') || ':'
                        || array_to_string(s.setconfig, E'\n'), E'\n' ORDER BY s.setrole)
                    FROM pg_db_role_setting s WHERE s.setdatabase = d.oid)),
                ('connection limit', d.datconnlimit::text),
                ('allow connections', d.datallowconn::text),
                ('template', d.datistemplate::text),
                ('comment', shobj_description(d.oid, 'pg_database')),
                ('encoding', pg_encoding_to_char(d.encoding)),
                ('collation', d.datcollate),
                ('character type', d.datctype)) v(property, value)
            WHERE d.datname IN (:'temp', :'target'))
        SELECT coalesce(string_agg(property, ', ' ORDER BY property), '') FROM (
            SELECT property FROM p GROUP BY property HAVING count(DISTINCT coalesce(value, '')) > 1 OR count(value) = 1) x;
        """;

    private static Dictionary<string, string> Variables(string target, string temp) => new() { ["target"] = target, ["temp"] = temp };

    /// <summary>Creates <paramref name="temp"/> so that the target's data restores into it unchanged (same encoding and locale).</summary>
    public static async Task CreateLikeAsync(PostgresTools tools, PostgresServerAddress server, string target, string temp, CancellationToken cancellationToken)
    {
        if (await tools.ScriptAsync(server, CreateLikeScript, Variables(target, temp), cancellationToken) != "1")
            throw new RestoreProblemException(409, "Target changed", $"The database '{target}' no longer exists; nothing was restored.");
    }

    /// <summary>Gives <paramref name="temp"/> the properties of <paramref name="target"/>, all or none; throws when one still differs.</summary>
    public static async Task CarryOverAsync(PostgresTools tools, PostgresServerAddress server, string target, string temp, CancellationToken cancellationToken)
    {
        await tools.ScriptAsync(server, CarryOverScript, Variables(target, temp), cancellationToken, singleTransaction: true);
        if (await tools.ScriptAsync(server, DifferencesScript, Variables(target, temp), cancellationToken) is { Length: > 0 } differences)
            throw new RestoreProblemException(500, "Database properties not carried over",
                $"The restored database could not be given the properties of '{target}' ({differences} differ); '{target}' was not replaced.");
    }
}
