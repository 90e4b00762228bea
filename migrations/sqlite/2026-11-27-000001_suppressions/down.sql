DROP INDEX invitations_by_person;
DROP TABLE suppressions;
