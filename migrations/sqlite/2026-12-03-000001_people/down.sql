ALTER TABLE api_keys DROP COLUMN survey_id;
DROP TABLE people;
