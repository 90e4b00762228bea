-- Insights: segments, comment search, figures that stay fast at any size, the bot audit.
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
    s0 BIGINT NOT NULL DEFAULT 0,
    s1 BIGINT NOT NULL DEFAULT 0,
    s2 BIGINT NOT NULL DEFAULT 0,
    s3 BIGINT NOT NULL DEFAULT 0,
    s4 BIGINT NOT NULL DEFAULT 0,
    s5 BIGINT NOT NULL DEFAULT 0,
    s6 BIGINT NOT NULL DEFAULT 0,
    s7 BIGINT NOT NULL DEFAULT 0,
    s8 BIGINT NOT NULL DEFAULT 0,
    s9 BIGINT NOT NULL DEFAULT 0,
    s10 BIGINT NOT NULL DEFAULT 0,
    comments BIGINT NOT NULL DEFAULT 0,
    sent BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (survey_id, hour, channel)
);

CREATE TABLE property_tallies (
    survey_id TEXT NOT NULL REFERENCES surveys(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    hour TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
    promoters BIGINT NOT NULL DEFAULT 0,
    passives BIGINT NOT NULL DEFAULT 0,
    detractors BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (survey_id, name, value, hour, channel)
);
CREATE INDEX property_tallies_by_name ON property_tallies (survey_id, name, hour);

INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
    SELECT survey_id, strftime('%Y-%m-%d %H:00:00', responded_at), channel, SUM((score = 0)), SUM((score = 1)), SUM((score = 2)), SUM((score = 3)), SUM((score = 4)), SUM((score = 5)), SUM((score = 6)), SUM((score = 7)), SUM((score = 8)), SUM((score = 9)), SUM((score = 10)), SUM((comment IS NOT NULL AND comment <> ''))
    FROM responses WHERE status = 'counted' GROUP BY 1, 2, 3;
INSERT INTO score_tallies (survey_id, hour, channel, sent)
    SELECT survey_id, strftime('%Y-%m-%d %H:00:00', sent_at), 'email', COUNT(*)
    FROM invitations WHERE status = 'sent' AND sent_at IS NOT NULL GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = excluded.sent;
INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
    SELECT r.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, SUM((r.score >= 9)), SUM((r.score BETWEEN 7 AND 8)), SUM((r.score <= 6))
    FROM responses r JOIN response_properties p ON p.response_id = r.id
    WHERE r.status = 'counted' GROUP BY 1, 2, 3, 4, 5;

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

-- The triggers that keep the tallies (and, on SQLite, the search index) in step.
CREATE TRIGGER responses_after_insert AFTER INSERT ON responses FOR EACH ROW BEGIN
    INSERT INTO response_search (response_id) VALUES (NEW.id);
    INSERT INTO responses_fts (rowid, comment)
        SELECT id, coalesce(NEW.comment, '') FROM response_search WHERE response_id = NEW.id;
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.responded_at), NEW.channel, (NEW.score = 0), (NEW.score = 1), (NEW.score = 2), (NEW.score = 3), (NEW.score = 4), (NEW.score = 5), (NEW.score = 6), (NEW.score = 7), (NEW.score = 8), (NEW.score = 9), (NEW.score = 10), (NEW.comment IS NOT NULL AND NEW.comment <> '')
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO response_properties (response_id, name, value)
        SELECT NEW.id, name, value FROM invitation_properties WHERE invitation_id = NEW.invitation_id;
END;

CREATE TRIGGER responses_after_update AFTER UPDATE ON responses FOR EACH ROW WHEN OLD.score IS DISTINCT FROM NEW.score OR OLD.status IS DISTINCT FROM NEW.status OR OLD.responded_at IS DISTINCT FROM NEW.responded_at OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.comment IS DISTINCT FROM NEW.comment OR OLD.survey_id IS DISTINCT FROM NEW.survey_id BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score = 0), -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5), -(OLD.score = 6), -(OLD.score = 7), -(OLD.score = 8), -(OLD.score = 9), -(OLD.score = 10), -(OLD.comment IS NOT NULL AND OLD.comment <> '')
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score >= 9), -(OLD.score BETWEEN 7 AND 8), -(OLD.score <= 6)
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.responded_at), NEW.channel, (NEW.score = 0), (NEW.score = 1), (NEW.score = 2), (NEW.score = 3), (NEW.score = 4), (NEW.score = 5), (NEW.score = 6), (NEW.score = 7), (NEW.score = 8), (NEW.score = 9), (NEW.score = 10), (NEW.comment IS NOT NULL AND NEW.comment <> '')
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT NEW.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', NEW.responded_at), NEW.channel, (NEW.score >= 9), (NEW.score BETWEEN 7 AND 8), (NEW.score <= 6)
        FROM response_properties p WHERE p.response_id = NEW.id AND NEW.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    DELETE FROM responses_fts WHERE rowid = (SELECT id FROM response_search WHERE response_id = OLD.id);
    INSERT INTO responses_fts (rowid, comment)
        SELECT id, coalesce(NEW.comment, '') FROM response_search WHERE response_id = NEW.id;
END;

CREATE TRIGGER responses_before_delete BEFORE DELETE ON responses FOR EACH ROW BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score = 0), -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5), -(OLD.score = 6), -(OLD.score = 7), -(OLD.score = 8), -(OLD.score = 9), -(OLD.score = 10), -(OLD.comment IS NOT NULL AND OLD.comment <> '')
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score >= 9), -(OLD.score BETWEEN 7 AND 8), -(OLD.score <= 6)
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    DELETE FROM responses_fts WHERE rowid = (SELECT id FROM response_search WHERE response_id = OLD.id);
END;

CREATE TRIGGER response_properties_after_insert AFTER INSERT ON response_properties FOR EACH ROW BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, (r.score >= 9), (r.score BETWEEN 7 AND 8), (r.score <= 6)
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER response_properties_after_update AFTER UPDATE ON response_properties FOR EACH ROW BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, -(r.score >= 9), -(r.score BETWEEN 7 AND 8), -(r.score <= 6)
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, (r.score >= 9), (r.score BETWEEN 7 AND 8), (r.score <= 6)
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER response_properties_after_delete AFTER DELETE ON response_properties FOR EACH ROW BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, -(r.score >= 9), -(r.score BETWEEN 7 AND 8), -(r.score <= 6)
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

CREATE TRIGGER invitations_after_insert AFTER INSERT ON invitations FOR EACH ROW BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
END;

CREATE TRIGGER invitations_after_update AFTER UPDATE ON invitations FOR EACH ROW WHEN OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at OR OLD.survey_id IS DISTINCT FROM NEW.survey_id BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
END;

CREATE TRIGGER invitations_after_delete AFTER DELETE ON invitations FOR EACH ROW BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
END;
