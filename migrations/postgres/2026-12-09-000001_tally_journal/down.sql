
-- The triggers that keep the tallies (and, on SQLite, the search index) in step.
CREATE OR REPLACE FUNCTION npsd_responses_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, date_trunc('hour', NEW.responded_at), NEW.channel, (NEW.score = 0)::int, (NEW.score = 1)::int, (NEW.score = 2)::int, (NEW.score = 3)::int, (NEW.score = 4)::int, (NEW.score = 5)::int, (NEW.score = 6)::int, (NEW.score = 7)::int, (NEW.score = 8)::int, (NEW.score = 9)::int, (NEW.score = 10)::int, (NEW.comment IS NOT NULL AND NEW.comment <> '')::int
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = score_tallies.s0 + excluded.s0, s1 = score_tallies.s1 + excluded.s1, s2 = score_tallies.s2 + excluded.s2, s3 = score_tallies.s3 + excluded.s3, s4 = score_tallies.s4 + excluded.s4, s5 = score_tallies.s5 + excluded.s5, s6 = score_tallies.s6 + excluded.s6, s7 = score_tallies.s7 + excluded.s7, s8 = score_tallies.s8 + excluded.s8, s9 = score_tallies.s9 + excluded.s9, s10 = score_tallies.s10 + excluded.s10, comments = score_tallies.comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, date_trunc('day', NEW.responded_at), NEW.channel, (NEW.score = 0)::int, (NEW.score = 1)::int, (NEW.score = 2)::int, (NEW.score = 3)::int, (NEW.score = 4)::int, (NEW.score = 5)::int, (NEW.score = 6)::int, (NEW.score = 7)::int, (NEW.score = 8)::int, (NEW.score = 9)::int, (NEW.score = 10)::int, (NEW.comment IS NOT NULL AND NEW.comment <> '')::int
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = score_tallies_daily.s0 + excluded.s0, s1 = score_tallies_daily.s1 + excluded.s1, s2 = score_tallies_daily.s2 + excluded.s2, s3 = score_tallies_daily.s3 + excluded.s3, s4 = score_tallies_daily.s4 + excluded.s4, s5 = score_tallies_daily.s5 + excluded.s5, s6 = score_tallies_daily.s6 + excluded.s6, s7 = score_tallies_daily.s7 + excluded.s7, s8 = score_tallies_daily.s8 + excluded.s8, s9 = score_tallies_daily.s9 + excluded.s9, s10 = score_tallies_daily.s10 + excluded.s10, comments = score_tallies_daily.comments + excluded.comments;
    INSERT INTO response_properties (response_id, name, value)
        SELECT NEW.id, name, value FROM invitation_properties WHERE invitation_id = NEW.invitation_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_responses_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (OLD.score IS DISTINCT FROM NEW.score OR OLD.status IS DISTINCT FROM NEW.status OR OLD.responded_at IS DISTINCT FROM NEW.responded_at OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.comment IS DISTINCT FROM NEW.comment OR OLD.survey_id IS DISTINCT FROM NEW.survey_id) THEN RETURN NULL; END IF;
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, date_trunc('hour', OLD.responded_at), OLD.channel, -(OLD.score = 0)::int, -(OLD.score = 1)::int, -(OLD.score = 2)::int, -(OLD.score = 3)::int, -(OLD.score = 4)::int, -(OLD.score = 5)::int, -(OLD.score = 6)::int, -(OLD.score = 7)::int, -(OLD.score = 8)::int, -(OLD.score = 9)::int, -(OLD.score = 10)::int, -(OLD.comment IS NOT NULL AND OLD.comment <> '')::int
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = score_tallies.s0 + excluded.s0, s1 = score_tallies.s1 + excluded.s1, s2 = score_tallies.s2 + excluded.s2, s3 = score_tallies.s3 + excluded.s3, s4 = score_tallies.s4 + excluded.s4, s5 = score_tallies.s5 + excluded.s5, s6 = score_tallies.s6 + excluded.s6, s7 = score_tallies.s7 + excluded.s7, s8 = score_tallies.s8 + excluded.s8, s9 = score_tallies.s9 + excluded.s9, s10 = score_tallies.s10 + excluded.s10, comments = score_tallies.comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, date_trunc('day', OLD.responded_at), OLD.channel, -(OLD.score = 0)::int, -(OLD.score = 1)::int, -(OLD.score = 2)::int, -(OLD.score = 3)::int, -(OLD.score = 4)::int, -(OLD.score = 5)::int, -(OLD.score = 6)::int, -(OLD.score = 7)::int, -(OLD.score = 8)::int, -(OLD.score = 9)::int, -(OLD.score = 10)::int, -(OLD.comment IS NOT NULL AND OLD.comment <> '')::int
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = score_tallies_daily.s0 + excluded.s0, s1 = score_tallies_daily.s1 + excluded.s1, s2 = score_tallies_daily.s2 + excluded.s2, s3 = score_tallies_daily.s3 + excluded.s3, s4 = score_tallies_daily.s4 + excluded.s4, s5 = score_tallies_daily.s5 + excluded.s5, s6 = score_tallies_daily.s6 + excluded.s6, s7 = score_tallies_daily.s7 + excluded.s7, s8 = score_tallies_daily.s8 + excluded.s8, s9 = score_tallies_daily.s9 + excluded.s9, s10 = score_tallies_daily.s10 + excluded.s10, comments = score_tallies_daily.comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, date_trunc('hour', OLD.responded_at), OLD.channel, -(OLD.score >= 9)::int, -(OLD.score BETWEEN 7 AND 8)::int, -(OLD.score <= 6)::int
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, date_trunc('day', OLD.responded_at), OLD.channel, -(OLD.score >= 9)::int, -(OLD.score BETWEEN 7 AND 8)::int, -(OLD.score <= 6)::int
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, date_trunc('hour', NEW.responded_at), NEW.channel, (NEW.score = 0)::int, (NEW.score = 1)::int, (NEW.score = 2)::int, (NEW.score = 3)::int, (NEW.score = 4)::int, (NEW.score = 5)::int, (NEW.score = 6)::int, (NEW.score = 7)::int, (NEW.score = 8)::int, (NEW.score = 9)::int, (NEW.score = 10)::int, (NEW.comment IS NOT NULL AND NEW.comment <> '')::int
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = score_tallies.s0 + excluded.s0, s1 = score_tallies.s1 + excluded.s1, s2 = score_tallies.s2 + excluded.s2, s3 = score_tallies.s3 + excluded.s3, s4 = score_tallies.s4 + excluded.s4, s5 = score_tallies.s5 + excluded.s5, s6 = score_tallies.s6 + excluded.s6, s7 = score_tallies.s7 + excluded.s7, s8 = score_tallies.s8 + excluded.s8, s9 = score_tallies.s9 + excluded.s9, s10 = score_tallies.s10 + excluded.s10, comments = score_tallies.comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT NEW.survey_id, date_trunc('day', NEW.responded_at), NEW.channel, (NEW.score = 0)::int, (NEW.score = 1)::int, (NEW.score = 2)::int, (NEW.score = 3)::int, (NEW.score = 4)::int, (NEW.score = 5)::int, (NEW.score = 6)::int, (NEW.score = 7)::int, (NEW.score = 8)::int, (NEW.score = 9)::int, (NEW.score = 10)::int, (NEW.comment IS NOT NULL AND NEW.comment <> '')::int
        WHERE NEW.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = score_tallies_daily.s0 + excluded.s0, s1 = score_tallies_daily.s1 + excluded.s1, s2 = score_tallies_daily.s2 + excluded.s2, s3 = score_tallies_daily.s3 + excluded.s3, s4 = score_tallies_daily.s4 + excluded.s4, s5 = score_tallies_daily.s5 + excluded.s5, s6 = score_tallies_daily.s6 + excluded.s6, s7 = score_tallies_daily.s7 + excluded.s7, s8 = score_tallies_daily.s8 + excluded.s8, s9 = score_tallies_daily.s9 + excluded.s9, s10 = score_tallies_daily.s10 + excluded.s10, comments = score_tallies_daily.comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT NEW.survey_id, p.name, p.value, date_trunc('hour', NEW.responded_at), NEW.channel, (NEW.score >= 9)::int, (NEW.score BETWEEN 7 AND 8)::int, (NEW.score <= 6)::int
        FROM response_properties p WHERE p.response_id = NEW.id AND NEW.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT NEW.survey_id, p.name, p.value, date_trunc('day', NEW.responded_at), NEW.channel, (NEW.score >= 9)::int, (NEW.score BETWEEN 7 AND 8)::int, (NEW.score <= 6)::int
        FROM response_properties p WHERE p.response_id = NEW.id AND NEW.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_responses_before_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, date_trunc('hour', OLD.responded_at), OLD.channel, -(OLD.score = 0)::int, -(OLD.score = 1)::int, -(OLD.score = 2)::int, -(OLD.score = 3)::int, -(OLD.score = 4)::int, -(OLD.score = 5)::int, -(OLD.score = 6)::int, -(OLD.score = 7)::int, -(OLD.score = 8)::int, -(OLD.score = 9)::int, -(OLD.score = 10)::int, -(OLD.comment IS NOT NULL AND OLD.comment <> '')::int
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = score_tallies.s0 + excluded.s0, s1 = score_tallies.s1 + excluded.s1, s2 = score_tallies.s2 + excluded.s2, s3 = score_tallies.s3 + excluded.s3, s4 = score_tallies.s4 + excluded.s4, s5 = score_tallies.s5 + excluded.s5, s6 = score_tallies.s6 + excluded.s6, s7 = score_tallies.s7 + excluded.s7, s8 = score_tallies.s8 + excluded.s8, s9 = score_tallies.s9 + excluded.s9, s10 = score_tallies.s10 + excluded.s10, comments = score_tallies.comments + excluded.comments;
    INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
        SELECT OLD.survey_id, date_trunc('day', OLD.responded_at), OLD.channel, -(OLD.score = 0)::int, -(OLD.score = 1)::int, -(OLD.score = 2)::int, -(OLD.score = 3)::int, -(OLD.score = 4)::int, -(OLD.score = 5)::int, -(OLD.score = 6)::int, -(OLD.score = 7)::int, -(OLD.score = 8)::int, -(OLD.score = 9)::int, -(OLD.score = 10)::int, -(OLD.comment IS NOT NULL AND OLD.comment <> '')::int
        WHERE OLD.status = 'counted'
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = score_tallies_daily.s0 + excluded.s0, s1 = score_tallies_daily.s1 + excluded.s1, s2 = score_tallies_daily.s2 + excluded.s2, s3 = score_tallies_daily.s3 + excluded.s3, s4 = score_tallies_daily.s4 + excluded.s4, s5 = score_tallies_daily.s5 + excluded.s5, s6 = score_tallies_daily.s6 + excluded.s6, s7 = score_tallies_daily.s7 + excluded.s7, s8 = score_tallies_daily.s8 + excluded.s8, s9 = score_tallies_daily.s9 + excluded.s9, s10 = score_tallies_daily.s10 + excluded.s10, comments = score_tallies_daily.comments + excluded.comments;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, date_trunc('hour', OLD.responded_at), OLD.channel, -(OLD.score >= 9)::int, -(OLD.score BETWEEN 7 AND 8)::int, -(OLD.score <= 6)::int
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT OLD.survey_id, p.name, p.value, date_trunc('day', OLD.responded_at), OLD.channel, -(OLD.score >= 9)::int, -(OLD.score BETWEEN 7 AND 8)::int, -(OLD.score <= 6)::int
        FROM response_properties p WHERE p.response_id = OLD.id AND OLD.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION npsd_response_properties_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, date_trunc('hour', r.responded_at), r.channel, (r.score >= 9)::int, (r.score BETWEEN 7 AND 8)::int, (r.score <= 6)::int
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, date_trunc('day', r.responded_at), r.channel, (r.score >= 9)::int, (r.score BETWEEN 7 AND 8)::int, (r.score <= 6)::int
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_response_properties_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, date_trunc('hour', r.responded_at), r.channel, -(r.score >= 9)::int, -(r.score BETWEEN 7 AND 8)::int, -(r.score <= 6)::int
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, date_trunc('day', r.responded_at), r.channel, -(r.score >= 9)::int, -(r.score BETWEEN 7 AND 8)::int, -(r.score <= 6)::int
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, date_trunc('hour', r.responded_at), r.channel, (r.score >= 9)::int, (r.score BETWEEN 7 AND 8)::int, (r.score <= 6)::int
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, NEW.name, NEW.value, date_trunc('day', r.responded_at), r.channel, (r.score >= 9)::int, (r.score BETWEEN 7 AND 8)::int, (r.score <= 6)::int
        FROM responses r WHERE r.id = NEW.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_response_properties_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, date_trunc('hour', r.responded_at), r.channel, -(r.score >= 9)::int, -(r.score BETWEEN 7 AND 8)::int, -(r.score <= 6)::int
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
    INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
        SELECT r.survey_id, OLD.name, OLD.value, date_trunc('day', r.responded_at), r.channel, -(r.score >= 9)::int, -(r.score BETWEEN 7 AND 8)::int, -(r.score <= 6)::int
        FROM responses r WHERE r.id = OLD.response_id AND r.status = 'counted'
        ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_invitations_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT NEW.survey_id, date_trunc('hour', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = score_tallies.sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT NEW.survey_id, date_trunc('day', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = score_tallies_daily.sent + excluded.sent;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_invitations_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT (OLD.status IS DISTINCT FROM NEW.status OR OLD.sent_at IS DISTINCT FROM NEW.sent_at OR OLD.survey_id IS DISTINCT FROM NEW.survey_id) THEN RETURN NULL; END IF;
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT OLD.survey_id, date_trunc('hour', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = score_tallies.sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT OLD.survey_id, date_trunc('day', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = score_tallies_daily.sent + excluded.sent;
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT NEW.survey_id, date_trunc('hour', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = score_tallies.sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT NEW.survey_id, date_trunc('day', NEW.sent_at), 'email', 1
        WHERE NEW.status = 'sent' AND NEW.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = score_tallies_daily.sent + excluded.sent;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION npsd_invitations_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO score_tallies (survey_id, hour, channel, sent)
        SELECT OLD.survey_id, date_trunc('hour', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = score_tallies.sent + excluded.sent;
    INSERT INTO score_tallies_daily (survey_id, day, channel, sent)
        SELECT OLD.survey_id, date_trunc('day', OLD.sent_at), 'email', -1
        WHERE OLD.status = 'sent' AND OLD.sent_at IS NOT NULL
        ON CONFLICT (survey_id, day, channel) DO UPDATE SET sent = score_tallies_daily.sent + excluded.sent;
    RETURN NULL;
END $$;

INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments, sent)
    SELECT survey_id, hour, channel, SUM(s0), SUM(s1), SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(s6), SUM(s7), SUM(s8), SUM(s9), SUM(s10), SUM(comments), SUM(sent) FROM tally_journal WHERE true GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, hour, channel) DO UPDATE SET s0 = score_tallies.s0 + excluded.s0, s1 = score_tallies.s1 + excluded.s1, s2 = score_tallies.s2 + excluded.s2, s3 = score_tallies.s3 + excluded.s3, s4 = score_tallies.s4 + excluded.s4, s5 = score_tallies.s5 + excluded.s5, s6 = score_tallies.s6 + excluded.s6, s7 = score_tallies.s7 + excluded.s7, s8 = score_tallies.s8 + excluded.s8, s9 = score_tallies.s9 + excluded.s9, s10 = score_tallies.s10 + excluded.s10, comments = score_tallies.comments + excluded.comments, sent = score_tallies.sent + excluded.sent;
INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
    SELECT survey_id, name, value, hour, channel, SUM(promoters), SUM(passives), SUM(detractors) FROM property_tally_journal WHERE true GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (survey_id, name, value, hour, channel) DO UPDATE SET promoters = property_tallies.promoters + excluded.promoters, passives = property_tallies.passives + excluded.passives, detractors = property_tallies.detractors + excluded.detractors;
INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments, sent)
    SELECT survey_id, day, channel, SUM(s0), SUM(s1), SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(s6), SUM(s7), SUM(s8), SUM(s9), SUM(s10), SUM(comments), SUM(sent) FROM tally_journal WHERE true GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, day, channel) DO UPDATE SET s0 = score_tallies_daily.s0 + excluded.s0, s1 = score_tallies_daily.s1 + excluded.s1, s2 = score_tallies_daily.s2 + excluded.s2, s3 = score_tallies_daily.s3 + excluded.s3, s4 = score_tallies_daily.s4 + excluded.s4, s5 = score_tallies_daily.s5 + excluded.s5, s6 = score_tallies_daily.s6 + excluded.s6, s7 = score_tallies_daily.s7 + excluded.s7, s8 = score_tallies_daily.s8 + excluded.s8, s9 = score_tallies_daily.s9 + excluded.s9, s10 = score_tallies_daily.s10 + excluded.s10, comments = score_tallies_daily.comments + excluded.comments, sent = score_tallies_daily.sent + excluded.sent;
INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
    SELECT survey_id, name, value, day, channel, SUM(promoters), SUM(passives), SUM(detractors) FROM property_tally_journal WHERE true GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (survey_id, name, value, day, channel) DO UPDATE SET promoters = property_tallies_daily.promoters + excluded.promoters, passives = property_tallies_daily.passives + excluded.passives, detractors = property_tallies_daily.detractors + excluded.detractors;
DELETE FROM tally_journal;
DELETE FROM property_tally_journal;

DROP VIEW property_tallies_daily_live;
DROP VIEW score_tallies_daily_live;
DROP VIEW property_tallies_live;
DROP VIEW score_tallies_live;
DROP TABLE property_tally_journal;
DROP TABLE tally_journal;
