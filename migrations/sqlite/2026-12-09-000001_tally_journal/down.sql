
-- The triggers that keep the tallies (and, on SQLite, the search index) in step.
DROP TRIGGER IF EXISTS responses_after_insert;
CREATE TRIGGER responses_after_insert AFTER INSERT ON responses FOR EACH ROW BEGIN
    INSERT INTO response_search (response_id) VALUES (NEW.id);
    INSERT INTO responses_fts (rowid, comment)
        SELECT id, coalesce(NEW.comment, '') FROM response_search WHERE response_id = NEW.id;
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.responded_at), NEW.channel, (NEW.score = 0), (NEW.score = 1), (NEW.score = 2), (NEW.score = 3), (NEW.score = 4), (NEW.score = 5), (NEW.score = 6), (NEW.score = 7), (NEW.score = 8), (NEW.score = 9), (NEW.score = 10), (NEW.comment IS NOT NULL AND NEW.comment <> '')
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, strftime('%Y-%m-%d 00:00:00', NEW.responded_at), NEW.channel, (NEW.score = 0), (NEW.score = 1), (NEW.score = 2), (NEW.score = 3), (NEW.score = 4), (NEW.score = 5), (NEW.score = 6), (NEW.score = 7), (NEW.score = 8), (NEW.score = 9), (NEW.score = 10), (NEW.comment IS NOT NULL AND NEW.comment <> '')
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO response_properties (response_id, name, value)
        SELECT NEW.id, name, value FROM invitation_properties WHERE invitation_id = NEW.invitation_id;
END;

DROP TRIGGER IF EXISTS responses_after_update;
CREATE TRIGGER responses_after_update AFTER UPDATE ON responses FOR EACH ROW WHEN OLD.score IS DISTINCT FROM NEW.score OR OLD.status IS DISTINCT FROM NEW.status OR OLD.responded_at IS DISTINCT FROM NEW.responded_at OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.comment IS DISTINCT FROM NEW.comment OR OLD.survey_id IS DISTINCT FROM NEW.survey_id BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score = 0), -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5), -(OLD.score = 6), -(OLD.score = 7), -(OLD.score = 8), -(OLD.score = 9), -(OLD.score = 10), -(OLD.comment IS NOT NULL AND OLD.comment <> '')
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, strftime('%Y-%m-%d 00:00:00', OLD.responded_at), OLD.channel, -(OLD.score = 0), -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5), -(OLD.score = 6), -(OLD.score = 7), -(OLD.score = 8), -(OLD.score = 9), -(OLD.score = 10), -(OLD.comment IS NOT NULL AND OLD.comment <> '')
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score >= 9), -(OLD.score BETWEEN 7 AND 8), -(OLD.score <= 6)
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, strftime('%Y-%m-%d 00:00:00', OLD.responded_at), OLD.channel, -(OLD.score >= 9), -(OLD.score BETWEEN 7 AND 8), -(OLD.score <= 6)
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.responded_at), NEW.channel, (NEW.score = 0), (NEW.score = 1), (NEW.score = 2), (NEW.score = 3), (NEW.score = 4), (NEW.score = 5), (NEW.score = 6), (NEW.score = 7), (NEW.score = 8), (NEW.score = 9), (NEW.score = 10), (NEW.comment IS NOT NULL AND NEW.comment <> '')
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, strftime('%Y-%m-%d 00:00:00', NEW.responded_at), NEW.channel, (NEW.score = 0), (NEW.score = 1), (NEW.score = 2), (NEW.score = 3), (NEW.score = 4), (NEW.score = 5), (NEW.score = 6), (NEW.score = 7), (NEW.score = 8), (NEW.score = 9), (NEW.score = 10), (NEW.comment IS NOT NULL AND NEW.comment <> '')
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT NEW.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', NEW.responded_at), NEW.channel, (NEW.score >= 9), (NEW.score BETWEEN 7 AND 8), (NEW.score <= 6)
        FROM response_properties p WHERE p.response_id = NEW.id AND NEW.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT NEW.survey_id, p.name, p.value, strftime('%Y-%m-%d 00:00:00', NEW.responded_at), NEW.channel, (NEW.score >= 9), (NEW.score BETWEEN 7 AND 8), (NEW.score <= 6)
        FROM response_properties p WHERE p.response_id = NEW.id AND NEW.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO responses_fts (responses_fts, rowid, comment)
        SELECT 'delete', id, coalesce(OLD.comment, '') FROM response_search WHERE response_id = OLD.id;
    INSERT INTO responses_fts (rowid, comment)
        SELECT id, coalesce(NEW.comment, '') FROM response_search WHERE response_id = NEW.id;
END;

DROP TRIGGER IF EXISTS responses_before_delete;
CREATE TRIGGER responses_before_delete BEFORE DELETE ON responses FOR EACH ROW BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score = 0), -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5), -(OLD.score = 6), -(OLD.score = 7), -(OLD.score = 8), -(OLD.score = 9), -(OLD.score = 10), -(OLD.comment IS NOT NULL AND OLD.comment <> '')
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, strftime('%Y-%m-%d 00:00:00', OLD.responded_at), OLD.channel, -(OLD.score = 0), -(OLD.score = 1), -(OLD.score = 2), -(OLD.score = 3), -(OLD.score = 4), -(OLD.score = 5), -(OLD.score = 6), -(OLD.score = 7), -(OLD.score = 8), -(OLD.score = 9), -(OLD.score = 10), -(OLD.comment IS NOT NULL AND OLD.comment <> '')
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, strftime('%Y-%m-%d %H:00:00', OLD.responded_at), OLD.channel, -(OLD.score >= 9), -(OLD.score BETWEEN 7 AND 8), -(OLD.score <= 6)
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, strftime('%Y-%m-%d 00:00:00', OLD.responded_at), OLD.channel, -(OLD.score >= 9), -(OLD.score BETWEEN 7 AND 8), -(OLD.score <= 6)
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO responses_fts (responses_fts, rowid, comment)
        SELECT 'delete', id, coalesce(OLD.comment, '') FROM response_search WHERE response_id = OLD.id;
END;

DROP TRIGGER IF EXISTS response_properties_after_insert;
CREATE TRIGGER response_properties_after_insert AFTER INSERT ON response_properties FOR EACH ROW BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, (r.score >= 9), (r.score BETWEEN 7 AND 8), (r.score <= 6)
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, strftime('%Y-%m-%d 00:00:00', r.responded_at), r.channel, (r.score >= 9), (r.score BETWEEN 7 AND 8), (r.score <= 6)
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

DROP TRIGGER IF EXISTS response_properties_after_update;
CREATE TRIGGER response_properties_after_update AFTER UPDATE ON response_properties FOR EACH ROW BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, -(r.score >= 9), -(r.score BETWEEN 7 AND 8), -(r.score <= 6)
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, strftime('%Y-%m-%d 00:00:00', r.responded_at), r.channel, -(r.score >= 9), -(r.score BETWEEN 7 AND 8), -(r.score <= 6)
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, (r.score >= 9), (r.score BETWEEN 7 AND 8), (r.score <= 6)
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, strftime('%Y-%m-%d 00:00:00', r.responded_at), r.channel, (r.score >= 9), (r.score BETWEEN 7 AND 8), (r.score <= 6)
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

DROP TRIGGER IF EXISTS response_properties_after_delete;
CREATE TRIGGER response_properties_after_delete AFTER DELETE ON response_properties FOR EACH ROW BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, strftime('%Y-%m-%d %H:00:00', r.responded_at), r.channel, -(r.score >= 9), -(r.score BETWEEN 7 AND 8), -(r.score <= 6)
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, strftime('%Y-%m-%d 00:00:00', r.responded_at), r.channel, -(r.score >= 9), -(r.score BETWEEN 7 AND 8), -(r.score <= 6)
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
END;

DROP TRIGGER IF EXISTS invitations_after_insert;
CREATE TRIGGER invitations_after_insert AFTER INSERT ON invitations FOR EACH ROW BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT NEW.survey_id, strftime('%Y-%m-%d 00:00:00', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = sent + excluded.sent;
END;

DROP TRIGGER IF EXISTS invitations_after_update;
CREATE TRIGGER invitations_after_update AFTER UPDATE ON invitations FOR EACH ROW WHEN OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at OR OLD.survey_id IS DISTINCT FROM NEW.survey_id BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT OLD.survey_id, strftime('%Y-%m-%d 00:00:00', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = sent + excluded.sent;
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT NEW.survey_id, strftime('%Y-%m-%d %H:00:00', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT NEW.survey_id, strftime('%Y-%m-%d 00:00:00', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = sent + excluded.sent;
END;

DROP TRIGGER IF EXISTS invitations_after_delete;
CREATE TRIGGER invitations_after_delete AFTER DELETE ON invitations FOR EACH ROW BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT OLD.survey_id, strftime('%Y-%m-%d %H:00:00', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT OLD.survey_id, strftime('%Y-%m-%d 00:00:00', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = sent + excluded.sent;
END;

INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments, sent)
    SELECT survey_id, hour, channel, SUM(s0), SUM(s1), SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(s6), SUM(s7), SUM(s8), SUM(s9), SUM(s10), SUM(comments), SUM(sent) FROM tally_journal WHERE true GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments, sent = sent + excluded.sent;
INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
    SELECT survey_id, name, value, hour, channel, SUM(promoters), SUM(passives), SUM(detractors) FROM property_tally_journal WHERE true GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments, sent)
    SELECT survey_id, day, channel, SUM(s0), SUM(s1), SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(s6), SUM(s7), SUM(s8), SUM(s9), SUM(s10), SUM(comments), SUM(sent) FROM tally_journal WHERE true GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = s0 + excluded.s0, s1 = s1 + excluded.s1, s2 = s2 + excluded.s2, s3 = s3 + excluded.s3, s4 = s4 + excluded.s4, s5 = s5 + excluded.s5, s6 = s6 + excluded.s6, s7 = s7 + excluded.s7, s8 = s8 + excluded.s8, s9 = s9 + excluded.s9, s10 = s10 + excluded.s10, comments = comments + excluded.comments, sent = sent + excluded.sent;
INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
    SELECT survey_id, name, value, day, channel, SUM(promoters), SUM(passives), SUM(detractors) FROM property_tally_journal WHERE true GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = promoters + excluded.promoters, passives = passives + excluded.passives, detractors = detractors + excluded.detractors;
DELETE FROM tally_journal;
DELETE FROM property_tally_journal;

DROP VIEW property_tallies_daily_live;
DROP VIEW score_tallies_daily_live;
DROP VIEW property_tallies_live;
DROP VIEW score_tallies_live;
DROP TABLE property_tally_journal;
DROP TABLE tally_journal;
