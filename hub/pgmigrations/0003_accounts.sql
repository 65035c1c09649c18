-- The dashboard's accounts and login sessions (hub/account.go). Only a
-- password's argon2id hash and a session id's SHA-256 are stored. Sessions
-- are here, not in a hub's memory, so every hub on this database serves a
-- login made on another (no sticky sessions); removing an account ends its
-- sessions at once (ON DELETE CASCADE).
CREATE TABLE hub_accounts (
	name    text PRIMARY KEY,
	created timestamptz NOT NULL,
	hash    text NOT NULL
);

CREATE TABLE hub_sessions (
	id_hash bytea PRIMARY KEY,
	account text NOT NULL REFERENCES hub_accounts (name) ON DELETE CASCADE,
	csrf    text NOT NULL,
	created timestamptz NOT NULL,
	expires timestamptz NOT NULL
);
CREATE INDEX hub_sessions_expires ON hub_sessions (expires);
