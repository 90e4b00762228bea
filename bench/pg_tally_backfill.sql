-- The tallies of one survey ({survey}) recomputed from its rows, for a PostgreSQL seed that ran
-- with the row triggers off (session_replication_role = replica): the hourly tallies as the
-- insights migration's backfill computes them, the daily ones from the hourly ones as the
-- daily-tallies migration does. Used by bench/run.py and bench/insights.rs.
DELETE FROM score_tallies WHERE survey_id = '{survey}';
DELETE FROM property_tallies WHERE survey_id = '{survey}';
DELETE FROM score_tallies_daily WHERE survey_id = '{survey}';
DELETE FROM property_tallies_daily WHERE survey_id = '{survey}';
INSERT INTO score_tallies (survey_id, hour, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments)
    SELECT survey_id, date_trunc('hour', responded_at), channel,
        SUM((score = 0)::int), SUM((score = 1)::int), SUM((score = 2)::int), SUM((score = 3)::int),
        SUM((score = 4)::int), SUM((score = 5)::int), SUM((score = 6)::int), SUM((score = 7)::int),
        SUM((score = 8)::int), SUM((score = 9)::int), SUM((score = 10)::int),
        SUM((comment IS NOT NULL AND comment <> '')::int)
    FROM responses WHERE status = 'counted' AND survey_id = '{survey}' GROUP BY 1, 2, 3;
INSERT INTO score_tallies (survey_id, hour, channel, sent)
    SELECT survey_id, date_trunc('hour', sent_at), 'email', COUNT(*)
    FROM invitations WHERE status = 'sent' AND sent_at IS NOT NULL AND survey_id = '{survey}' GROUP BY 1, 2, 3
    ON CONFLICT (survey_id, hour, channel) DO UPDATE SET sent = excluded.sent;
INSERT INTO property_tallies (survey_id, name, value, hour, channel, promoters, passives, detractors)
    SELECT r.survey_id, p.name, p.value, date_trunc('hour', r.responded_at), r.channel,
        SUM((r.score >= 9)::int), SUM((r.score BETWEEN 7 AND 8)::int), SUM((r.score <= 6)::int)
    FROM responses r JOIN response_properties p ON p.response_id = r.id
    WHERE r.status = 'counted' AND r.survey_id = '{survey}' GROUP BY 1, 2, 3, 4, 5;
INSERT INTO score_tallies_daily (survey_id, day, channel, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, comments, sent)
    SELECT survey_id, date_trunc('day', hour), channel, SUM(s0), SUM(s1), SUM(s2), SUM(s3), SUM(s4),
        SUM(s5), SUM(s6), SUM(s7), SUM(s8), SUM(s9), SUM(s10), SUM(comments), SUM(sent)
    FROM score_tallies WHERE survey_id = '{survey}' GROUP BY 1, 2, 3;
INSERT INTO property_tallies_daily (survey_id, name, value, day, channel, promoters, passives, detractors)
    SELECT survey_id, name, value, date_trunc('day', hour), channel, SUM(promoters), SUM(passives), SUM(detractors)
    FROM property_tallies WHERE survey_id = '{survey}' GROUP BY 1, 2, 3, 4, 5;
