-- The tills' fleet reports (hub/fleet.go). A till is the terminal its key
-- names (hub_terminals.name), never a field of a report. Each table's
-- primary key is the report's idempotent id, so a retry, on whichever hub
-- it lands, is stored once.

-- The heartbeat of each till received last ("at" is the till's clock,
-- which may have been set back: it does not decide).
CREATE TABLE hub_fleet_tills (
	till      text PRIMARY KEY,
	received  timestamptz NOT NULL,
	at        timestamptz NOT NULL,
	heartbeat jsonb NOT NULL
);

-- Each closed shift's Z report, once.
CREATE TABLE hub_fleet_shifts (
	till      text NOT NULL,
	shift_id  bigint NOT NULL,
	store     text NOT NULL,
	closed_at timestamptz NOT NULL,
	received  timestamptz NOT NULL,
	report    jsonb NOT NULL,
	PRIMARY KEY (till, shift_id)
);
CREATE INDEX hub_fleet_shifts_closed ON hub_fleet_shifts (closed_at);

-- Each conflict, with its resolution once recorded (on the till, or at HQ:
-- unheard until the till reports it resolved).
CREATE TABLE hub_fleet_conflicts (
	till     text NOT NULL,
	id       bigint NOT NULL,
	at       timestamptz NOT NULL,
	received timestamptz NOT NULL,
	resolved boolean NOT NULL,
	unheard  boolean NOT NULL DEFAULT false,
	report   jsonb NOT NULL,
	PRIMARY KEY (till, id)
);
CREATE INDEX hub_fleet_conflicts_open ON hub_fleet_conflicts (at) WHERE NOT resolved;
CREATE INDEX hub_fleet_conflicts_unheard ON hub_fleet_conflicts (till) WHERE unheard;
