"""Writes the insights, daily-tallies and privacy migrations for both backends (kept in step by
construction).

    python3 tools/gen_insights_migration.py .
"""
import sys
S = [f"s{i}" for i in range(11)]
PT = ["promoters", "passives", "detractors"]

class B:
    # secure: the search index takes FTS5 'delete' commands with the text it indexed (privacy
    # migration on), instead of DELETE on a contentless_delete table, which only leaves a tombstone.
    # journal: the triggers append each change's deltas to the tally journal (issue 20) instead of
    # adding them to the tally rows, which the projection folds the journal into in batches.
    def __init__(self, pg, grains=("hour",), secure=False, journal=False):
        self.pg = pg; self.grains = grains; self.secure = secure; self.journal = journal
    def hour(self, x): return f"date_trunc('hour', {x})" if self.pg else f"strftime('%Y-%m-%d %H:00:00', {x})"
    def day(self, x): return f"date_trunc('day', {x})" if self.pg else f"strftime('%Y-%m-%d 00:00:00', {x})"
    def trunc(self, grain, x): return self.hour(x) if grain == "hour" else self.day(x)
    def b(self, e): return f"({e})::int" if self.pg else f"({e})"
    def t(self, table): return f"{table}." if self.pg else ""

def table(base, grain): return base if grain == "hour" else base + "_daily"

def score_upsert(b, r, sign):
    if b.journal: return score_append(b, r, sign)
    return "\n    ".join(score_upsert_1(b, r, sign, g) for g in b.grains)

def score_upsert_1(b, r, sign, grain):
    neg = "-" if sign < 0 else ""
    t = table("score_tallies", grain)
    vals = [neg + b.b(f"{r}.score = {i}") for i in range(11)]
    vals.append(neg + b.b(f"{r}.comment IS NOT NULL AND {r}.comment <> ''"))
    sets = ", ".join(f"{c} = {b.t(t)}{c} + excluded.{c}" for c in S + ["comments"])
    return (f"INSERT INTO {t} (survey_id, {grain}, channel, {', '.join(S + ['comments'])})\n"
            f"        SELECT {r}.survey_id, {b.trunc(grain, r + '.responded_at')}, {r}.channel, {', '.join(vals)}\n"
            f"        WHERE {r}.status = 'counted'\n"
            f"        ON CONFLICT (survey_id, {grain}, channel) DO UPDATE SET {sets};")

def prop_upsert(b, r, name, value, frm, where, sign):
    if b.journal: return prop_append(b, r, name, value, frm, where, sign)
    return "\n    ".join(prop_upsert_1(b, r, name, value, frm, where, sign, g) for g in b.grains)

def prop_upsert_1(b, r, name, value, frm, where, sign, grain):
    neg = "-" if sign < 0 else ""
    t = table("property_tallies", grain)
    vals = [neg + b.b(f"{r}.score >= 9"), neg + b.b(f"{r}.score BETWEEN 7 AND 8"), neg + b.b(f"{r}.score <= 6")]
    sets = ", ".join(f"{c} = {b.t(t)}{c} + excluded.{c}" for c in PT)
    return (f"INSERT INTO {t} (survey_id, name, value, {grain}, channel, {', '.join(PT)})\n"
            f"        SELECT {r}.survey_id, {name}, {value}, {b.trunc(grain, r + '.responded_at')}, {r}.channel, {', '.join(vals)}\n"
            f"        FROM {frm} WHERE {where} AND {r}.status = 'counted'\n"
            f"        ON CONFLICT (survey_id, name, value, {grain}, channel) DO UPDATE SET {sets};")

def response_props(b, r, sign):
    return prop_upsert(b, r, "p.name", "p.value", "response_properties p", f"p.response_id = {r}.id", sign)

def one_prop(b, p, sign):
    return prop_upsert(b, "r", f"{p}.name", f"{p}.value", "responses r", f"r.id = {p}.response_id", sign)

def sent_upsert(b, i, sign):
    if b.journal: return sent_append(b, i, sign)
    return "\n    ".join(sent_upsert_1(b, i, sign, g) for g in b.grains)

def sent_upsert_1(b, i, sign, grain):
    one = "-1" if sign < 0 else "1"
    t = table("score_tallies", grain)
    return (f"INSERT INTO {t} (survey_id, {grain}, channel, sent)\n"
            f"        SELECT {i}.survey_id, {b.trunc(grain, i + '.sent_at')}, 'email', {one}\n"
            f"        WHERE {i}.status = 'sent' AND {i}.sent_at IS NOT NULL\n"
            f"        ON CONFLICT (survey_id, {grain}, channel) DO UPDATE SET sent = {b.t(t)}sent + excluded.sent;")

def score_append(b, r, sign):
    neg = "-" if sign < 0 else ""
    vals = [neg + b.b(f"{r}.score = {i}") for i in range(11)]
    vals.append(neg + b.b(f"{r}.comment IS NOT NULL AND {r}.comment <> ''"))
    return (f"INSERT INTO tally_journal (survey_id, hour, day, channel, {', '.join(S + ['comments'])})\n"
            f"        SELECT {r}.survey_id, {b.hour(r + '.responded_at')}, {b.day(r + '.responded_at')}, {r}.channel, {', '.join(vals)}\n"
            f"        WHERE {r}.status = 'counted';")

def prop_append(b, r, name, value, frm, where, sign):
    neg = "-" if sign < 0 else ""
    vals = [neg + b.b(f"{r}.score >= 9"), neg + b.b(f"{r}.score BETWEEN 7 AND 8"), neg + b.b(f"{r}.score <= 6")]
    return (f"INSERT INTO property_tally_journal (survey_id, name, value, hour, day, channel, {', '.join(PT)})\n"
            f"        SELECT {r}.survey_id, {name}, {value}, {b.hour(r + '.responded_at')}, {b.day(r + '.responded_at')}, {r}.channel, {', '.join(vals)}\n"
            f"        FROM {frm} WHERE {where} AND {r}.status = 'counted';")

def sent_append(b, i, sign):
    one = "-1" if sign < 0 else "1"
    return (f"INSERT INTO tally_journal (survey_id, hour, day, channel, sent)\n"
            f"        SELECT {i}.survey_id, {b.hour(i + '.sent_at')}, {b.day(i + '.sent_at')}, 'email', {one}\n"
            f"        WHERE {i}.status = 'sent' AND {i}.sent_at IS NOT NULL;")

def search_insert(b, r):
    if b.pg: return []
    return [f"INSERT INTO response_search (response_id) VALUES ({r}.id);",
            f"INSERT INTO responses_fts (rowid, comment)\n        SELECT id, coalesce({r}.comment, '') FROM response_search WHERE response_id = {r}.id;"]

def search_delete(b, r):
    if b.pg: return []
    if b.secure:
        return [f"INSERT INTO responses_fts (responses_fts, rowid, comment)\n        SELECT 'delete', id, coalesce({r}.comment, '') FROM response_search WHERE response_id = {r}.id;"]
    return [f"DELETE FROM responses_fts WHERE rowid = (SELECT id FROM response_search WHERE response_id = {r}.id);"]

def copy_invitation_props(r):
    return (f"INSERT INTO response_properties (response_id, name, value)\n"
            f"        SELECT {r}.id, name, value FROM invitation_properties WHERE invitation_id = {r}.invitation_id;")

TRIGGERS = {
    # name: (table, timing/event, sqlite WHEN, body(b))
    "responses_after_insert": ("responses", "AFTER INSERT", None, lambda b: search_insert(b, "NEW") + [
        score_upsert(b, "NEW", 1), copy_invitation_props("NEW")]),
    "responses_after_update": ("responses", "AFTER UPDATE", 
        "OLD.score IS DISTINCT FROM NEW.score OR OLD.status IS DISTINCT FROM NEW.status OR OLD.responded_at IS DISTINCT FROM NEW.responded_at OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.comment IS DISTINCT FROM NEW.comment OR OLD.survey_id IS DISTINCT FROM NEW.survey_id",
        lambda b: [score_upsert(b, "OLD", -1), response_props(b, "OLD", -1),
                   score_upsert(b, "NEW", 1), response_props(b, "NEW", 1)] + search_delete(b, "OLD") + (
                   [] if b.pg else [f"INSERT INTO responses_fts (rowid, comment)\n        SELECT id, coalesce(NEW.comment, '') FROM response_search WHERE response_id = NEW.id;"])),
    "responses_before_delete": ("responses", "BEFORE DELETE", None, lambda b: [
        score_upsert(b, "OLD", -1), response_props(b, "OLD", -1)] + search_delete(b, "OLD")),
    "response_properties_after_insert": ("response_properties", "AFTER INSERT", None, lambda b: [one_prop(b, "NEW", 1)]),
    "response_properties_after_update": ("response_properties", "AFTER UPDATE", None, lambda b: [one_prop(b, "OLD", -1), one_prop(b, "NEW", 1)]),
    "response_properties_after_delete": ("response_properties", "AFTER DELETE", None, lambda b: [one_prop(b, "OLD", -1)]),
    "invitations_after_insert": ("invitations", "AFTER INSERT", None, lambda b: [sent_upsert(b, "NEW", 1)]),
    "invitations_after_update": ("invitations", "AFTER UPDATE", "OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at OR OLD.survey_id IS DISTINCT FROM NEW.survey_id",
        lambda b: [sent_upsert(b, "OLD", -1), sent_upsert(b, "NEW", 1)]),
    "invitations_after_delete": ("invitations", "AFTER DELETE", None, lambda b: [sent_upsert(b, "OLD", -1)]),
}

def head(b):
    return """-- Insights: segments, comment search, figures that stay fast at any size, the bot audit.
-- Written by a generator so both backends keep the very same logic; keep in step across backends.

-- Restored or discarded by hand: wins over the scanner rules from then on.
ALTER TABLE responses ADD COLUMN manual_status TEXT;
CREATE INDEX responses_by_score ON responses (survey_id, status, score, responded_at);

-- Every response's properties in one place: email answers take their transaction's (a trigger
-- copies them from now on).
INSERT INTO response_properties (response_id, name, value)
    SELECT r.id, p.name, p.value FROM responses r
    JOIN invitation_properties p ON p.invitation_id = r.invitation_id;
CREATE INDEX response_properties_by_value ON response_properties (name, value, response_id);

-- Per-hour counts, kept up to date by the triggers below in the same transaction as every change
-- to a response, its properties or an invitation's sending. NPS, trends and breakdowns read hours,
-- not rows; a range that does not start or end on a UTC hour adds the raw rows of its edge hours.
CREATE TABLE score_tallies (
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    hour TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
""" + ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in S + ["comments", "sent"]) + """,
    PRIMARY KEY (survey_id, hour, channel)
);

CREATE TABLE property_tallies (
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    hour TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
""" + ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in PT) + """,
    PRIMARY KEY (survey_id, name, value, hour, channel)
);
CREATE INDEX property_tallies_by_name ON property_tallies (survey_id, name, hour);
"""

def backfill(b):
    commented = b.b("comment IS NOT NULL AND comment <> ''")
    sums = ", ".join([f"SUM({b.b(f'score = {i}')})" for i in range(11)] + [f"SUM({commented})"])
    psums = ", ".join(f"SUM({b.b(e)})" for e in ["r.score >= 9", "r.score BETWEEN 7 AND 8", "r.score <= 6"])
    return f"""
INSERT INTO score_tallies (survey_id, hour, channel, {', '.join(S + ['comments'])})
    SELECT survey_id, {b.hour('responded_at')}, channel, {sums}
    FROM responses WHERE status = 'counted' GROUP BY 1, 2, 3;
INSERT INTO score_tallies (survey_id, hour, channel, sent)
    SELECT survey_id, {b.hour('sent_at')}, 'email', COUNT(*)
    FROM invitations WHERE status = 'sent' AND sent_at IS NOT NULL GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = excluded.sent;
INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
    SELECT r.survey_id, p.name, p.value, {b.hour('r.responded_at')}, r.channel, {psums}
    FROM responses r JOIN response_properties p ON p.response_id = r.id
    WHERE r.status = 'counted' GROUP BY 1, 2, 3, 4, 5;
"""

def search(b):
    if b.pg:
        return """
-- Comment search: a GIN index over the English tsvector of the comment (stemmed).
CREATE INDEX responses_comment_search ON responses USING GIN (to_tsvector('english', coalesce(comment, '')));
"""
    return """
-- Comment search: FTS5 with the Porter stemmer. The index keys on response_search's own integer
-- id (stable across VACUUM, unlike the rowid of a table with a text key); the text itself lives
-- only in responses.
CREATE TABLE response_search (
    id INTEGER PRIMARY KEY,
    response_id TEXT NOT NULL UNIQUE REFERENCES responses(id) ON DELETE CASCADE
);
CREATE VIRTUAL TABLE responses_fts USING fts5(comment, tokenize = 'porter unicode61', content = '', contentless_delete = 1);
INSERT INTO response_search (response_id) SELECT id FROM responses;
INSERT INTO responses_fts (rowid, comment)
    SELECT s.id, coalesce(r.comment, '') FROM response_search s JOIN responses r ON r.id = s.response_id;
"""

def triggers(b, replace=False):
    out = ["\n-- The triggers that keep the tallies (and, on SQLite, the search index) in step."]
    for name, (table, when, cond, body) in TRIGGERS.items():
        stmts = body(b)
        if b.pg:
            timing, event = when.split(" ")
            ret = "OLD" if timing == "BEFORE" and event == "DELETE" else "NULL"
            inner = "\n    ".join(stmts)
            guard = f"    IF NOT ({cond}) THEN RETURN {ret}; END IF;\n" if cond else ""
            create = "CREATE OR REPLACE FUNCTION" if replace else "CREATE FUNCTION"
            trigger = "" if replace else f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION npsd_{name}();\n"
            out.append(f"""{create} npsd_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{guard}    {inner}
    RETURN {ret};
END $$;
{trigger}""")
        else:
            w = f" WHEN {cond}" if cond else ""
            inner = "\n    ".join(stmts)
            drop = f"DROP TRIGGER IF EXISTS {name};\n" if replace else ""
            out.append(f"{drop}CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW{w} BEGIN\n    {inner}\nEND;\n")
    return "\n".join(out)

def down(b):
    lines = []
    for name, (table, *_ ) in TRIGGERS.items():
        lines.append(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table};" if b.pg else ";"))
        if b.pg: lines.append(f"DROP FUNCTION IF EXISTS npsd_{name}();")
    if b.pg:
        lines.append("DROP INDEX IF EXISTS responses_comment_search;")
    else:
        lines += ["DROP TABLE IF EXISTS responses_fts;", "DROP TABLE IF EXISTS response_search;"]
    lines += ["DROP TABLE IF EXISTS property_tallies;", "DROP TABLE IF EXISTS score_tallies;",
              "DROP INDEX IF EXISTS response_properties_by_value;",
              "DELETE FROM response_properties WHERE response_id IN (SELECT id FROM responses WHERE invitation_id IS NOT NULL);",
              "DROP INDEX IF EXISTS responses_by_score;", "ALTER TABLE responses DROP COLUMN manual_status;"]
    return "\n".join(lines) + "\n"

def daily_up(b):
    sums = ", ".join(f"SUM({c})" for c in S + ["comments", "sent"])
    psums = ", ".join(f"SUM({c})" for c in PT)
    return """-- Per-day counts beside the per-hour ones, kept by the same triggers: a figure over months reads
-- one row per day and only the hours of its first and last day (aggregates stay under 10 ms at
-- 10 million responses). Generated by tools/gen_insights_migration.py; keep in step across backends.
CREATE TABLE score_tallies_daily (
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    day TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
""" + ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in S + ["comments", "sent"]) + """,
    PRIMARY KEY (survey_id, day, channel)
);

CREATE TABLE property_tallies_daily (
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    day TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
""" + ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in PT) + """,
    PRIMARY KEY (survey_id, name, value, day, channel)
);
CREATE INDEX property_tallies_daily_by_name ON property_tallies_daily (survey_id, name, day);
""" + f"""
INSERT INTO score_tallies_daily (survey_id, day, channel, {', '.join(S + ['comments', 'sent'])})
    SELECT survey_id, {b.day('hour')}, channel, {sums}
    FROM score_tallies GROUP BY 1, 2, 3;
INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, {', '.join(PT)})
    SELECT survey_id, name, value, {b.day('hour')}, channel, {psums}
    FROM property_tallies GROUP BY 1, 2, 3, 4, 5;
""" + triggers(b, replace=True)

def daily_down(b):
    return triggers(B(b.pg), replace=True) + """
DROP TABLE IF EXISTS property_tallies_daily;
DROP TABLE IF EXISTS score_tallies_daily;
"""

SUPPRESSION_KEY = {
    False: "lower(hex(randomblob(32))), strftime('%Y-%m-%d %H:%M:%f', 'now')",
    True: "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''),\n            now() AT TIME ZONE 'UTC'",
}

def privacy_up(b):
    out = """-- Privacy (issue 18). Generated by tools/gen_insights_migration.py; keep in step across backends.
"""
    if not b.secure:
        raise ValueError("the privacy migration is written with secure search deletes")
    if not b.pg:
        out += """
-- Erasure removes a comment's words from the search index at once. The index was contentless with
-- contentless_delete, where a deleted row only gets a tombstone and its terms stay in the index's
-- pages (and in every backup) until some later merge. Now it is plain contentless, with FTS5's
-- secure-delete on: the triggers delete a row with the text it was indexed with, and the pages
-- that held its terms are rewritten without them. Rebuilt from the comments held, which also
-- drops the words of comments deleted before.
DROP TABLE responses_fts;
CREATE VIRTUAL TABLE responses_fts USING fts5(comment, tokenize = 'porter unicode61', content = '');
INSERT INTO responses_fts (responses_fts, rank) VALUES ('secure-delete', 1);
INSERT INTO responses_fts (rowid, comment)
    SELECT s.id, coalesce(r.comment, '') FROM response_search s JOIN responses r ON r.id = s.response_id;
""" + triggers(b, replace=True)
    return out + f"""
-- Suppression hashes are keyed: HMAC-SHA256 under a secret of the installation, made here once,
-- instead of a plain SHA-256 that anyone can recompute from a guessed address. The secret:
-- {'two random UUIDs, 244 bits from PostgreSQL' + "'" + 's strong random source' if b.pg else '256 random bits'}. Rows made
-- before carry hash_kind 'sha256' and are re-keyed when their address is next seen (checked
-- before a sending, suppressed again, lifted, erased); the row of an address erased before
-- cannot be re-keyed without it, so it is also looked up by its plain hash until then.
ALTER TABLE suppressions ADD COLUMN hash_kind TEXT NOT NULL DEFAULT 'sha256';
INSERT INTO app_secrets (name, value, created_at)
    VALUES ('suppression_key', {SUPPRESSION_KEY[b.pg]})
    ON CONFLICT (name) DO NOTHING;
"""

def privacy_down(b):
    out = """-- Keyed rows cannot be turned back into plain hashes: going down forgets them (their addresses
-- become mailable again); down migrations are for development only.
DELETE FROM suppressions WHERE hash_kind <> 'sha256';
ALTER TABLE suppressions DROP COLUMN hash_kind;
DELETE FROM app_secrets WHERE name = 'suppression_key';
"""
    if not b.pg:
        out += """
DROP TABLE responses_fts;
CREATE VIRTUAL TABLE responses_fts USING fts5(comment, tokenize = 'porter unicode61', content = '', contentless_delete = 1);
INSERT INTO responses_fts (rowid, comment)
    SELECT s.id, coalesce(r.comment, '') FROM response_search s JOIN responses r ON r.id = s.response_id;
""" + triggers(B(b.pg, b.grains), replace=True)
    return out

SCORE_COLS = ", ".join(S + ["comments", "sent"])
PROP_COLS = ", ".join(PT)

def fold_journal(b):
    """Every journal row into the tallies, then none left: the down migration's last fold (the
    running service folds in batches, crates/npsd-store/src/journal.rs)."""
    out = []
    for grain in ("hour", "day"):
        t = table("score_tallies", grain)
        sets = ", ".join(f"{c} = {b.t(t)}{c} + excluded.{c}" for c in S + ["comments", "sent"])
        sums = ", ".join(f"SUM({c})" for c in S + ["comments", "sent"])
        out.append(f"INSERT INTO {t} (survey_id, {grain}, channel, {SCORE_COLS})\n"
                   f"    SELECT survey_id, {grain}, channel, {sums} FROM tally_journal WHERE true GROUP BY 1, 2, 3\n"
                   f"    ON CONFLICT (survey_id, {grain}, channel) DO UPDATE SET {sets};")
        t = table("property_tallies", grain)
        sets = ", ".join(f"{c} = {b.t(t)}{c} + excluded.{c}" for c in PT)
        sums = ", ".join(f"SUM({c})" for c in PT)
        out.append(f"INSERT INTO {t} (survey_id, name, value, {grain}, channel, {PROP_COLS})\n"
                   f"    SELECT survey_id, name, value, {grain}, channel, {sums} FROM property_tally_journal WHERE true GROUP BY 1, 2, 3, 4, 5\n"
                   f"    ON CONFLICT (survey_id, name, value, {grain}, channel) DO UPDATE SET {sets};")
    out += ["DELETE FROM tally_journal;", "DELETE FROM property_tally_journal;"]
    return "\n".join(out) + "\n"

def journal_up(b):
    key = "id BIGSERIAL PRIMARY KEY" if b.pg else "id INTEGER PRIMARY KEY"
    score_cols = ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in S + ["comments", "sent"])
    prop_cols = ",\n".join(f"    {c} BIGINT NOT NULL DEFAULT 0" for c in PT)
    views = []
    for grain in ("hour", "day"):
        views.append(f"""CREATE VIEW {table("score_tallies", grain)}_live AS
    SELECT survey_id, {grain}, channel, {SCORE_COLS} FROM {table("score_tallies", grain)}
    UNION ALL
    SELECT survey_id, {grain}, channel, {SCORE_COLS} FROM tally_journal;
CREATE VIEW {table("property_tallies", grain)}_live AS
    SELECT survey_id, name, value, {grain}, channel, {PROP_COLS} FROM {table("property_tallies", grain)}
    UNION ALL
    SELECT survey_id, name, value, {grain}, channel, {PROP_COLS} FROM property_tally_journal;""")
    return f"""-- The tally journal (issue 20). Generated by tools/gen_insights_migration.py; keep in step across
-- backends.
--
-- The triggers no longer add each change to the survey's tally rows of the hour and the day (rows
-- that every answer of that hour updated, so that on PostgreSQL every writer and every instance
-- waited for the one before). They append the change's deltas to the journal instead: an insert
-- that no other write waits for. The projection (crates/npsd-store/src/journal.rs) folds the
-- journal into the tallies in batches, each batch deleted from the journal in the statement that
-- adds it, so a row is counted once whatever crashes or how many instances fold.
--
-- Figures read the *_live views: the tallies plus what the journal holds that is not folded yet,
-- so a figure includes an answer the moment it is committed.
CREATE TABLE tally_journal (
    {key},
    survey_id TEXT NOT NULL,
    hour TIMESTAMP NOT NULL,
    day TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
{score_cols}
);

CREATE TABLE property_tally_journal (
    {key},
    survey_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    hour TIMESTAMP NOT NULL,
    day TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
{prop_cols}
);

""" + "\n".join(views) + "\n" + triggers(b, replace=True)

def journal_down(b):
    return triggers(B(b.pg, b.grains, b.secure), replace=True) + "\n" + fold_journal(b) + """
DROP VIEW property_tallies_daily_live;
DROP VIEW score_tallies_daily_live;
DROP VIEW property_tallies_live;
DROP VIEW score_tallies_live;
DROP TABLE property_tally_journal;
DROP TABLE tally_journal;
"""

import os
base = sys.argv[1]
for kind, b in (("sqlite", B(False)), ("postgres", B(True))):
    d = f"{base}/migrations/{kind}/2026-11-30-000001_insights"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/up.sql", "w").write(head(b) + backfill(b) + search(b) + triggers(b))
    open(f"{d}/down.sql", "w").write(down(b))
for kind, b in (("sqlite", B(False, ("hour", "day"))), ("postgres", B(True, ("hour", "day")))):
    d = f"{base}/migrations/{kind}/2026-12-02-000001_daily_tallies"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/up.sql", "w").write(daily_up(b))
    open(f"{d}/down.sql", "w").write(daily_down(b))
for kind, b in (("sqlite", B(False)), ("postgres", B(True))):
    d = f"{base}/migrations/{kind}/2026-11-30-000001_insights"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/up.sql", "w").write(head(b) + backfill(b) + search(b) + triggers(b))
    open(f"{d}/down.sql", "w").write(down(b))
for kind, b in (("sqlite", B(False, ("hour", "day"), True)), ("postgres", B(True, ("hour", "day"), True))):
    d = f"{base}/migrations/{kind}/2026-12-07-180300_privacy"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/up.sql", "w").write(privacy_up(b))
    open(f"{d}/down.sql", "w").write(privacy_down(b))
for kind, b in (("sqlite", B(False, ("hour", "day"), True, True)), ("postgres", B(True, ("hour", "day"), True, True))):
    d = f"{base}/migrations/{kind}/2026-12-09-000001_tally_journal"
    os.makedirs(d, exist_ok=True)
    open(f"{d}/up.sql", "w").write(journal_up(b))
    open(f"{d}/down.sql", "w").write(journal_down(b))
