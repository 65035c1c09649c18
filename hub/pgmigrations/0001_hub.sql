-- The hub's store in PostgreSQL (hub.database_url), shared by every hub
-- process. Applied once, in a transaction, under the migration advisory
-- lock (hub/pgstore.go).

-- Every push stored, once: dedup_key is WeChat's dedup key, NUL and the
-- SHA-256 of the plaintext event, so a retry (the same event again) hits
-- the unique constraint on whichever hub it lands, and two different
-- events sharing WeChat's key are both kept.
CREATE TABLE hub_events (
	seq       bigserial PRIMARY KEY,
	received  timestamptz NOT NULL,
	mode      text NOT NULL,
	event     text NOT NULL,
	notice    boolean NOT NULL,
	raw       text NOT NULL,
	dedup_key bytea NOT NULL UNIQUE
);
CREATE INDEX hub_events_received ON hub_events (received);

-- The (timestamp, nonce) of each push with the hash of its event: another
-- event under a seen pair is refused. Rows older than the timestamp window
-- are pruned.
CREATE TABLE hub_nonces (
	ts        bigint NOT NULL,
	nonce     text NOT NULL,
	body_hash bytea NOT NULL,
	PRIMARY KEY (ts, nonce)
);

-- The code-status feed. Its order, and the tills' cursor, is (xid, id):
-- xid is the transaction that wrote the row (pg_current_xact_id()), and a
-- page holds only rows of transactions below the oldest one still running
-- (pg_snapshot_xmin), so a row that got its id earlier but commits later on
-- another hub can never fall behind a cursor already handed out. Rows
-- copied from a bbolt hub (migrate-store) have xid 0 and keep their feed
-- sequence as id, so a till's old cursor stays valid.
CREATE TABLE hub_feed (
	xid       xid8 NOT NULL DEFAULT pg_current_xact_id(),
	id        bigserial NOT NULL,
	event_seq bigint NOT NULL REFERENCES hub_events (seq),
	item      jsonb NOT NULL,
	PRIMARY KEY (xid, id)
);

-- Terminal keys: only their SHA-256.
CREATE TABLE hub_terminals (
	name     text PRIMARY KEY,
	created  timestamptz NOT NULL,
	key_hash bytea NOT NULL UNIQUE
);
