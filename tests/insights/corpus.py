"""Queries for the Insights guard: real analytics it must let through on both dialects, and
attacks it must stop (or that the read-only connection must make harmless).

A query is one SQL text for both dialects, or a pair (sqlite, postgres) where they differ
(dates, mostly).
"""

from __future__ import annotations

Query = str | tuple[str, str]

# Last week, as each dialect writes it.
WEEK_AGO = ("datetime('now', '-7 days')", "now() - interval '7 days'")


def both(sqlite: str, postgres: str) -> tuple[str, str]:
    return (sqlite, postgres)


BENIGN: dict[str, Query] = {
    "count users": "SELECT COUNT(*) FROM users",
    "latency median and p95": both(
        "SELECT latency_ms FROM messages WHERE role = 'assistant' AND status = 'ok'"
        " ORDER BY latency_ms LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM messages"
        " WHERE role = 'assistant' AND status = 'ok')",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,"
        " percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95 FROM messages"
        " WHERE role = 'assistant' AND status = 'ok'",
    ),
    "count messages by role": "SELECT role, COUNT(*) AS n FROM messages GROUP BY role",
    "answers by status": (
        "SELECT status, error_code, COUNT(*) FROM messages WHERE role = 'assistant'"
        " GROUP BY status, error_code ORDER BY 3 DESC"
    ),
    "dialogs per channel and mode": (
        "SELECT channel, mode, COUNT(*) AS dialogs FROM dialogs GROUP BY channel, mode"
    ),
    "top users by messages": (
        "SELECT u.id, u.username, COUNT(m.id) AS messages FROM users u"
        " JOIN dialogs d ON d.user_id = u.id JOIN messages m ON m.dialog_id = d.id"
        " WHERE m.role = 'user' GROUP BY u.id, u.username ORDER BY messages DESC LIMIT 10"
    ),
    "average latency": (
        "SELECT AVG(latency_ms), MIN(latency_ms), MAX(latency_ms) FROM messages"
        " WHERE role = 'assistant' AND status = 'ok'"
    ),
    "tokens per model": (
        "SELECT model, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion"
        " FROM messages WHERE model IS NOT NULL GROUP BY model"
    ),
    "messages per day": both(
        "SELECT date(created_at) AS day, COUNT(*) FROM messages GROUP BY day ORDER BY day",
        "SELECT date_trunc('day', created_at) AS day, COUNT(*) FROM messages GROUP BY day"
        " ORDER BY day",
    ),
    "messages last week": both(
        f"SELECT COUNT(*) FROM messages WHERE created_at >= {WEEK_AGO[0]}",
        f"SELECT COUNT(*) FROM messages WHERE created_at >= {WEEK_AGO[1]}",
    ),
    "messages by hour of day": both(
        "SELECT CAST(strftime('%H', created_at) AS INTEGER) AS hour, COUNT(*) FROM messages"
        " GROUP BY hour ORDER BY hour",
        "SELECT EXTRACT(HOUR FROM created_at) AS hour, COUNT(*) FROM messages"
        " GROUP BY hour ORDER BY hour",
    ),
    "messages by weekday": both(
        "SELECT strftime('%w', created_at) AS weekday, COUNT(*) FROM messages GROUP BY 1",
        "SELECT EXTRACT(DOW FROM created_at) AS weekday, COUNT(*) FROM messages GROUP BY 1",
    ),
    "new users per month": both(
        "SELECT strftime('%Y-%m', first_message_at) AS month, COUNT(*) FROM users"
        " WHERE first_message_at IS NOT NULL GROUP BY month",
        "SELECT to_char(first_message_at, 'YYYY-MM') AS month, COUNT(*) FROM users"
        " WHERE first_message_at IS NOT NULL GROUP BY month",
    ),
    "error rate": (
        "SELECT CAST(SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END) AS FLOAT)"
        " / NULLIF(COUNT(*), 0) AS error_rate FROM messages WHERE role = 'user'"
    ),
    "error codes": (
        "SELECT COALESCE(error_code, 'none') AS code, COUNT(*) FROM messages"
        " WHERE status = 'error' GROUP BY 1"
    ),
    "long dialogs": (
        "SELECT id, message_count FROM dialogs WHERE message_count > 10"
        " ORDER BY message_count DESC LIMIT 20"
    ),
    "average messages per dialog": (
        "SELECT AVG(message_count) FROM dialogs WHERE message_count > 0"
    ),
    "roles in use": "SELECT role, COUNT(*) FROM dialogs GROUP BY role HAVING COUNT(*) > 0",
    "users without dialogs": (
        "SELECT COUNT(*) FROM users u WHERE NOT EXISTS"
        " (SELECT 1 FROM dialogs d WHERE d.user_id = u.id)"
    ),
    "users in subquery": (
        "SELECT username FROM users WHERE id IN"
        " (SELECT user_id FROM dialogs WHERE channel = 'telegram' AND user_id IS NOT NULL)"
        " LIMIT 5"
    ),
    "derived table": (
        "SELECT AVG(n) FROM (SELECT dialog_id, COUNT(*) AS n FROM messages GROUP BY dialog_id)"
        " AS per_dialog"
    ),
    "cte": (
        "WITH per_user AS (SELECT d.user_id, COUNT(*) AS n FROM messages m"
        " JOIN dialogs d ON d.id = m.dialog_id WHERE d.user_id IS NOT NULL GROUP BY d.user_id)"
        " SELECT MAX(n), MIN(n), AVG(n) FROM per_user"
    ),
    "two ctes": (
        "WITH q AS (SELECT dialog_id, COUNT(*) AS n FROM messages WHERE role = 'user'"
        " GROUP BY dialog_id), a AS (SELECT dialog_id, COUNT(*) AS n FROM messages"
        " WHERE role = 'assistant' GROUP BY dialog_id)"
        " SELECT q.dialog_id, q.n, COALESCE(a.n, 0) FROM q LEFT JOIN a"
        " ON a.dialog_id = q.dialog_id ORDER BY q.n DESC LIMIT 10"
    ),
    "recursive cte bounded": (
        "WITH RECURSIVE days(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM days WHERE n < 6)"
        " SELECT n FROM days"
    ),
    "union": (
        "SELECT 'users' AS what, COUNT(*) FROM users UNION ALL"
        " SELECT 'dialogs', COUNT(*) FROM dialogs UNION ALL SELECT 'messages', COUNT(*)"
        " FROM messages"
    ),
    "union distinct": (
        "SELECT user_id AS id FROM dialogs WHERE user_id IS NOT NULL UNION"
        " SELECT id FROM users ORDER BY 1 LIMIT 10"
    ),
    "intersect": "SELECT id FROM users INTERSECT SELECT user_id FROM dialogs",
    "except": "SELECT id FROM users EXCEPT SELECT user_id FROM dialogs",
    "window rank": (
        "SELECT user_id, n, RANK() OVER (ORDER BY n DESC) AS place FROM"
        " (SELECT user_id, COUNT(*) AS n FROM dialogs WHERE user_id IS NOT NULL"
        " GROUP BY user_id) AS c LIMIT 10"
    ),
    "window running total": both(
        "SELECT day, n, SUM(n) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING"
        " AND CURRENT ROW) AS running FROM (SELECT date(created_at) AS day, COUNT(*) AS n"
        " FROM messages GROUP BY day) AS daily",
        "SELECT day, n, SUM(n) OVER (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING"
        " AND CURRENT ROW) AS running FROM (SELECT created_at::date AS day, COUNT(*) AS n"
        " FROM messages GROUP BY day) AS daily",
    ),
    "window partition": (
        "SELECT id, dialog_id, ROW_NUMBER() OVER (PARTITION BY dialog_id ORDER BY id) AS turn,"
        " LAG(created_at) OVER (PARTITION BY dialog_id ORDER BY id) AS before"
        " FROM messages LIMIT 50"
    ),
    "case buckets": (
        "SELECT CASE WHEN latency_ms < 1000 THEN 'fast' WHEN latency_ms < 5000 THEN 'ok'"
        " ELSE 'slow' END AS speed, COUNT(*) FROM messages WHERE latency_ms IS NOT NULL"
        " GROUP BY 1"
    ),
    "string functions": (
        "SELECT LOWER(username), UPPER(first_name), LENGTH(last_name), TRIM(username),"
        " SUBSTR(username, 1, 3), REPLACE(username, '_', ' ') FROM users LIMIT 5"
    ),
    "like": "SELECT COUNT(*) FROM messages WHERE content LIKE '%python%' AND role = 'user'",
    "between and in": (
        "SELECT COUNT(*) FROM messages WHERE latency_ms BETWEEN 100 AND 2000"
        " AND status IN ('ok', 'error')"
    ),
    "math": (
        "SELECT ROUND(AVG(length), 1), ABS(MIN(length) - MAX(length)),"
        " MAX(prompt_tokens) % 7 FROM messages"
    ),
    "distinct count": "SELECT COUNT(DISTINCT user_id) FROM dialogs",
    "left join with null check": (
        "SELECT d.id FROM dialogs d LEFT JOIN messages m ON m.dialog_id = d.id"
        " WHERE m.id IS NULL LIMIT 10"
    ),
    "self join": (
        "SELECT q.id, a.id FROM messages q JOIN messages a ON a.dialog_id = q.dialog_id"
        " AND a.id > q.id WHERE q.role = 'user' AND a.role = 'assistant' LIMIT 10"
    ),
    "scalar subquery": (
        "SELECT username, (SELECT COUNT(*) FROM dialogs d WHERE d.user_id = u.id) AS dialogs"
        " FROM users u ORDER BY dialogs DESC LIMIT 5"
    ),
    "quoted identifiers": 'SELECT "id", "username" FROM "users" WHERE "role" IS NOT NULL',
    "column named like updated_at and is_deleted": (
        "SELECT ended_at AS updated_at, (ended_at IS NOT NULL) AS is_deleted FROM dialogs LIMIT 5"
    ),
    "limit over the cap": "SELECT id FROM messages ORDER BY id LIMIT 5000",
    "offset": "SELECT id FROM messages ORDER BY id LIMIT 10 OFFSET 20",
    "last seen recently": both(
        "SELECT COUNT(*) FROM users WHERE last_seen_at > datetime('now', '-1 day')",
        "SELECT COUNT(*) FROM users WHERE last_seen_at > now() - interval '1 day'",
    ),
    "dialog duration": both(
        "SELECT AVG((julianday(ended_at) - julianday(started_at)) * 86400) FROM dialogs"
        " WHERE ended_at IS NOT NULL",
        "SELECT AVG(EXTRACT(EPOCH FROM ended_at - started_at)) FROM dialogs"
        " WHERE ended_at IS NOT NULL",
    ),
    "percentile by rank": (
        "SELECT latency_ms FROM (SELECT latency_ms, ROW_NUMBER() OVER (ORDER BY latency_ms)"
        " AS r, COUNT(*) OVER () AS n FROM messages WHERE latency_ms IS NOT NULL) AS ranked"
        " WHERE r = (n + 1) / 2"
    ),
    "group concat": both(
        "SELECT dialog_id, group_concat(role, ',') FROM messages GROUP BY dialog_id LIMIT 5",
        "SELECT dialog_id, string_agg(role, ',') FROM messages GROUP BY dialog_id LIMIT 5",
    ),
    "filter aggregate": both(
        "SELECT COUNT(*) FILTER (WHERE status = 'ok'), COUNT(*) FROM messages"
        " WHERE role = 'assistant'",
        "SELECT COUNT(*) FILTER (WHERE status = 'ok'), COUNT(*) FROM messages"
        " WHERE role = 'assistant'",
    ),
    "cast and coalesce": (
        "SELECT CAST(COALESCE(SUM(prompt_tokens), 0) AS INTEGER) + 1 FROM messages"
    ),
    "nullif and greatest of two": (
        "SELECT NULLIF(language_code, ''), COUNT(*) FROM users GROUP BY 1"
    ),
    "trailing semicolon and comment": "SELECT COUNT(*) FROM dialogs; -- how many",
    "local time of day": both(
        "SELECT strftime('%H', datetime(created_at, '+3 hours')) AS hour, COUNT(*)"
        " FROM messages GROUP BY hour",
        "SELECT EXTRACT(HOUR FROM created_at AT TIME ZONE 'Europe/Moscow') AS hour, COUNT(*)"
        " FROM messages GROUP BY hour",
    ),
    "sized casts": (
        "SELECT CAST(telegram_id AS VARCHAR(20)), CAST(AVG(id) AS DECIMAL(10, 2)) FROM users"
        " GROUP BY telegram_id LIMIT 3"
    ),
}


# Attacks: each must be refused by the guard, or run harmlessly on the read-only connection
# (stopped by the time limit, refused by the database), leaving the database as it was.
# A query is one SQL text for both dialects, or a pair where they differ.
ADVERSARIAL: dict[str, Query] = {
    # more than one statement
    "stacked drop": "SELECT 1; DROP TABLE users",
    "stacked delete": "SELECT COUNT(*) FROM users; DELETE FROM messages",
    "stacked after comment": "SELECT 1 -- harmless\n; DELETE FROM dialogs",
    "stacked in block comment": "SELECT 1 /* ; */; UPDATE users SET role = 'x'",
    "two selects": "SELECT 1; SELECT 2",
    # writes and DDL
    "delete": "DELETE FROM messages",
    "update": "UPDATE users SET username = 'owned'",
    "insert": "INSERT INTO users (telegram_id) VALUES (1)",
    "insert select": "INSERT INTO dialogs SELECT * FROM dialogs",
    "replace": both(
        "REPLACE INTO users (id) VALUES (1)",
        "MERGE INTO users USING dialogs ON true WHEN MATCHED THEN DELETE",
    ),
    "upsert": "INSERT INTO users (id) VALUES (1) ON CONFLICT DO NOTHING",
    "drop table": "DROP TABLE messages",
    "drop index": "DROP INDEX ix_messages_dialog_id_id",
    "create table": "CREATE TABLE x (a int)",
    "create table as": "CREATE TABLE x AS SELECT * FROM users",
    "create view": "CREATE VIEW v AS SELECT * FROM users",
    "create trigger": both(
        "CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM users; END",
        "CREATE TRIGGER t AFTER INSERT ON users EXECUTE FUNCTION f()",
    ),
    "alter table": "ALTER TABLE users ADD COLUMN x int",
    "truncate": both("DELETE FROM users", "TRUNCATE users"),
    "select into": "SELECT * INTO stolen FROM users",
    "writable cte delete": (
        "WITH gone AS (DELETE FROM messages RETURNING id) SELECT COUNT(*) FROM gone"
    ),
    "writable cte update": ("WITH x AS (UPDATE users SET role = 'x' RETURNING id) SELECT * FROM x"),
    "writable cte insert": (
        "WITH x AS (INSERT INTO users (telegram_id) VALUES (5) RETURNING id) SELECT * FROM x"
    ),
    "select for update": "SELECT * FROM users FOR UPDATE",
    "vacuum": "VACUUM",
    "reindex": "REINDEX messages",
    "analyze": "ANALYZE",
    "begin": "BEGIN",
    "commit": "COMMIT",
    "rollback then write": "ROLLBACK; DELETE FROM users",
    "savepoint": "SAVEPOINT a",
    # SQLite pragmas and attached databases
    "attach": "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "attach memory": "ATTACH ':memory:' AS m",
    "detach": "DETACH DATABASE main",
    "pragma writable schema": "PRAGMA writable_schema = ON",
    "pragma query only off": "PRAGMA query_only = OFF",
    "pragma table info": "PRAGMA table_info(accounts)",
    "pragma function": "SELECT * FROM pragma_table_info('accounts')",
    "pragma database list": "SELECT * FROM pragma_database_list",
    "other schema main": "SELECT * FROM main.accounts",
    "temp schema": "SELECT * FROM temp.sqlite_master",
    # settings and sessions (PostgreSQL)
    "set role": "SET ROLE postgres",
    "set read write": "SET TRANSACTION READ WRITE",
    "set session": "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    "set config": "SELECT set_config('default_transaction_read_only', 'off', false)",
    "current setting": "SELECT current_setting('data_directory')",
    "reset": "RESET ALL",
    "copy to program": "COPY users TO PROGRAM 'cat > /dev/null'",
    "copy from file": "COPY users FROM '/etc/passwd'",
    "do block": "DO $$ BEGIN DELETE FROM users; END $$",
    "call": "CALL something()",
    "notify": "NOTIFY x",
    "listen": "LISTEN x",
    "lock": "LOCK TABLE users",
    "prepare": "PREPARE p AS DELETE FROM users",
    "execute": "EXECUTE p",
    # tables and columns outside the allow-list
    "accounts": "SELECT username, password_hash FROM accounts",
    "accounts upper": "SELECT * FROM ACCOUNTS",
    "accounts quoted": 'SELECT * FROM "accounts"',
    "console sessions": "SELECT * FROM console_sessions",
    "rate limits": "SELECT * FROM rate_limit_counters",
    "rollups": "SELECT * FROM stats_counts",
    "alembic": "SELECT * FROM alembic_version",
    "sqlite master": "SELECT sql FROM sqlite_master",
    "sqlite schema": "SELECT * FROM sqlite_schema",
    "sqlite temp master": "SELECT * FROM sqlite_temp_master",
    "information schema": "SELECT * FROM information_schema.tables",
    "pg catalog": "SELECT * FROM pg_catalog.pg_authid",
    "pg user unqualified": "SELECT usename, passwd FROM pg_shadow",
    "pg stat activity": "SELECT query FROM pg_stat_activity",
    "pg class": "SELECT relname FROM pg_class",
    "accounts in subquery": "SELECT (SELECT password_hash FROM accounts LIMIT 1) FROM users",
    "accounts in exists": (
        "SELECT COUNT(*) FROM users WHERE EXISTS (SELECT 1 FROM accounts WHERE is_admin)"
    ),
    "accounts in union": "SELECT username FROM users UNION SELECT password_hash FROM accounts",
    "accounts in cte": "WITH a AS (SELECT * FROM accounts) SELECT * FROM a",
    "cte forward reference": (
        "WITH a AS (SELECT * FROM accounts), accounts AS (SELECT 1 AS x) SELECT * FROM a"
    ),
    "cte shadow escape": (
        "SELECT * FROM (WITH accounts AS (SELECT 1 AS x) SELECT x FROM accounts) AS t, accounts"
    ),
    "accounts join": "SELECT * FROM users JOIN accounts ON accounts.id = users.id",
    "unicode look-alike table": 'SELECT * FROM "\u0430ccounts"',
    "unicode look-alike column": 'SELECT "p\u0430ssword_hash" FROM users',
    "system column": "SELECT ctid, xmin FROM users",
    "rowid": "SELECT rowid, * FROM users",
    "table function": "SELECT * FROM generate_series(1, 10)",
    "lateral function": "SELECT * FROM users, LATERAL pg_ls_dir('.') AS f",
    "regclass cast": "SELECT 'accounts'::regclass",
    "regproc cast": "SELECT CAST('pg_sleep' AS regproc)",
    # files, code, other databases, sleeping
    "load extension": "SELECT load_extension('/tmp/evil.so')",
    "readfile": "SELECT readfile('/etc/passwd')",
    "writefile": "SELECT writefile('/tmp/x', 'y')",
    "edit": "SELECT edit('x', 'vi')",
    "fts3 tokenizer": "SELECT fts3_tokenizer('simple')",
    "pg sleep": "SELECT pg_sleep(60)",
    "pg sleep in where": "SELECT COUNT(*) FROM users WHERE pg_sleep(1) IS NULL",
    "pg sleep for": "SELECT pg_sleep_for('1 minute')",
    "pg read file": "SELECT pg_read_file('/etc/passwd')",
    "pg read binary file": "SELECT pg_read_binary_file('/etc/passwd')",
    "pg ls dir": "SELECT pg_ls_dir('/')",
    "pg stat file": "SELECT pg_stat_file('/etc/passwd')",
    "lo import": "SELECT lo_import('/etc/passwd')",
    "lo export": "SELECT lo_export(1, '/tmp/x')",
    "dblink": "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)",
    "dblink function": "SELECT dblink_exec('host=evil', 'DROP TABLE users')",
    "nextval writes": "SELECT nextval('users_id_seq')",
    "setval": "SELECT setval('users_id_seq', 1)",
    "pg terminate": "SELECT pg_terminate_backend(1)",
    "pg cancel": "SELECT pg_cancel_backend(pg_backend_pid())",
    "version": "SELECT version()",
    "sqlite version": "SELECT sqlite_version()",
    "query to xml": "SELECT query_to_xml('SELECT * FROM accounts', true, true, '')",
    "randomblob": "SELECT randomblob(1000000000)",
    "zeroblob": "SELECT zeroblob(1000000000)",
    "repeat": "SELECT repeat('x', 1000000000)",
    "printf width": "SELECT printf('%.*c', 1000000000, 'x')",
    "case tricks": "SeLeCt * FrOm AcCoUnTs",
    "comment that closes early": "SELECT id FROM users -- */ ; DELETE FROM users",
    "comment inside keyword": "SEL/**/ECT * FROM users",
    "parameter placeholders": "SELECT * FROM users WHERE id = ?",
    "hex escape": "SELECT X'41', * FROM accounts",
    # denial of service that the guard lets through and the time limit must stop
    "huge cross join": ("SELECT COUNT(*) FROM messages a, messages b, messages c, messages d"),
    "unbounded recursion": (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT COUNT(*) FROM r"
    ),
    "limit all": "SELECT * FROM messages a, messages b LIMIT ALL",
    "negative limit": "SELECT * FROM messages a, messages b LIMIT -1",
    "limit subquery": "SELECT * FROM messages LIMIT (SELECT COUNT(*) FROM messages)",
    "fetch first": "SELECT * FROM messages FETCH FIRST 1000000 ROWS ONLY",
    "too long": "SELECT " + " + ".join(["1"] * 5000),
    "not sql": "please delete all users",
    "empty": "",
    "only a comment": "-- nothing",
}

# Of ADVERSARIAL, those the guard lets through: reads of the allowed tables that the time
# limit stops; and rewritten harmless: LIMITs that are no number become MAX_ROWS, comments
# (that hide a second statement) are dropped.
SLOW_BUT_GUARDED = {"huge cross join", "unbounded recursion"}
BOUNDED_BY_REWRITE = {"negative limit", "limit subquery", "comment that closes early"}
