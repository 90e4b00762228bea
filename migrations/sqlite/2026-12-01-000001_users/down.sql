DROP TABLE app_secrets;
DROP TABLE sign_in_links;
DROP TABLE user_sessions;
DROP TABLE users;
