package hub

import (
	"errors"
	"fmt"
)

// The hub's errors state what is so; which key or command helps (hub
// store_path, 'cardtill hub', 'cardtill hub terminal list') is the command
// line's to say.

var (
	// ErrStoreLocked: another process holds the hub file's lock.
	ErrStoreLocked = errors.New("another process holds it")
	// ErrNoStore: a read-only open found no hub file it can read at the
	// path (the hub has not run yet, or the path is wrong).
	ErrNoStore = errors.New("no hub file at the path")
	// ErrNotHubStore: the file has no hub schema.
	ErrNotHubStore = errors.New("not a hub store (no schema)")
	// ErrSchemaNewer: the hub's file or database has a schema newer than
	// this build's.
	ErrSchemaNewer = errors.New("the schema is newer than this build's")
	// ErrNotMigrated: the database's (or file's) schema is older than this
	// build's and was not migrated (the store was opened with NoMigrate,
	// or read-only).
	ErrNotMigrated = errors.New("the database schema is older than this build's")
	// ErrInconsistent: the hub file's records do not agree (an event
	// without its dedup record).
	ErrInconsistent = errors.New("the hub file is inconsistent")
	// ErrTLS: the TLS certificate and key could not be loaded.
	ErrTLS = errors.New("cannot load the TLS certificate and key")
)

// SchemaError: the hub's file or database (Where) is at schema Have, this
// build at Want. errors.Is matches ErrSchemaNewer or ErrNotMigrated.
type SchemaError struct {
	Where      string // "database" or "hub file"
	Have, Want int
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%v (%s at %d, this build %d)", e.sentinel(), e.Where, e.Have, e.Want)
}

func (e *SchemaError) sentinel() error {
	if e.Have > e.Want {
		return ErrSchemaNewer
	}
	return ErrNotMigrated
}

func (e *SchemaError) Is(target error) bool { return target == e.sentinel() }
