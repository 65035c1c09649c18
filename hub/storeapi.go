package hub

import (
	"time"

	"cardtill/wechat"
)

// Store is everything the hub keeps: the events, their dedup record, the
// seen (timestamp, nonce) pairs, the code-status feed and the terminal
// keys. Two implementations:
//
//   - BoltStore (OpenStore): the embedded bbolt file at hub.store_path, the
//     default, for one hub process; nothing to install;
//   - PGStore (OpenPG): PostgreSQL at hub.database_url, shared by several
//     hub processes behind a load balancer.
//
// Both take a retry once by what is stored (a bbolt transaction; a unique
// constraint in PostgreSQL, never a read-then-write across hubs), commit a
// push before AddEvent returns, and give a feed whose cursor never skips an
// item (see PGStore.Changes for the two-hub case).
//
// Growing it (the next issue's fleet reports, say): add the methods here or,
// better, in a new interface of their own that both stores implement, and
// the tables or buckets to both stores' migrations: a new entry in
// boltMigrations (schemaVersion+1) and a new file in pgmigrations/
// (NNNN_name.sql). Both apply pending migrations at open, PostgreSQL under
// an advisory lock so hubs starting together do not race.
type Store interface {
	// AddEvent stores a verified push (see BoltStore.AddEvent): dup for a
	// retry of a stored event, ErrReplayed for another event under a seen
	// (timestamp, nonce).
	AddEvent(p *wechat.Push) (seq uint64, dup bool, err error)
	// Events lists the events received at or after since, oldest first, at
	// most limit (0 = all) of the newest.
	Events(since time.Time, limit int) ([]EventRecord, error)
	// Changes is the feed after cursor ("" = the start), at most limit items.
	Changes(cursor string, limit int) (ChangesPage, error)
	AddTerminal(name, key string) error
	RemoveTerminal(name string) error
	Terminals() ([]Terminal, error)
	// Authenticate names the terminal whose key is key; err is a failure
	// to read the store (the server then trusts terminals it recently
	// authenticated), not a refusal.
	Authenticate(key string) (name string, ok bool, err error)
	// Check says whether the store is fit: the file's consistency, or the
	// database reachable, migrated and writable.
	Check() error
	Close() error
}

var _ Store = (*BoltStore)(nil)
