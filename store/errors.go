package store

import (
	"errors"
	"fmt"
	"time"
)

// The errors of Open and of a full journal carry their facts in the types
// below; their texts state what is so and never what to run or which
// setting to change, which is the command line's to say.

// ErrNotJournal: the file at the path is not a usable journal (a folder,
// too short, damaged, another program's bbolt file). It was not changed.
var ErrNotJournal = errors.New("store: not a usable journal")

// NotJournalKind says how a file is not a journal.
type NotJournalKind int

// How a file is not a journal.
const (
	// NotJournalFolder: the path is a folder.
	NotJournalFolder NotJournalKind = iota + 1
	// NotJournalShort: shorter than bbolt's first pages (truncated, or
	// something else).
	NotJournalShort
	// NotJournalDamaged: bbolt or the preflight refused it; Err says why.
	NotJournalDamaged
	// NotJournalForeign: a bbolt file without the journal's meta bucket.
	NotJournalForeign
)

// NotJournalError is a file Open refused without changing it
// (errors.Is(err, ErrNotJournal)).
type NotJournalError struct {
	Path string
	Kind NotJournalKind
	Size int64 // the file's size, for NotJournalShort
	Err  error // what bbolt or the preflight found, for NotJournalDamaged
}

func (e *NotJournalError) Error() string {
	switch e.Kind {
	case NotJournalFolder:
		return fmt.Sprintf("store: %s is a directory, not a journal file", e.Path)
	case NotJournalShort:
		return fmt.Sprintf("store: %s is too short (%d bytes) to be a journal (truncated or not a journal); it was not changed", e.Path, e.Size)
	case NotJournalForeign:
		return fmt.Sprintf("store: %s is a bbolt file but not a journal (no meta bucket); it was not changed", e.Path)
	}
	return fmt.Sprintf("store: %s is not a usable journal (%v); it was not changed", e.Path, e.Err)
}

func (e *NotJournalError) Is(target error) bool { return target == ErrNotJournal }
func (e *NotJournalError) Unwrap() error        { return e.Err }

// FolderError: the journal's folder cannot be created (Create) or used.
type FolderError struct {
	Path   string // the journal's path
	Create bool
	Err    error
}

func (e *FolderError) Error() string {
	if e.Create {
		return fmt.Sprintf("store: cannot create the journal folder of %s: %v", e.Path, e.Err)
	}
	return fmt.Sprintf("store: cannot use the journal folder of %s: %v", e.Path, e.Err)
}

func (e *FolderError) Unwrap() error { return e.Err }

// LockedError: another process held the journal's lock for all of Waited
// (errors.Is(err, ErrLocked); bbolt's timeout is wrapped too).
type LockedError struct {
	Path   string
	Waited time.Duration
	Err    error
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: %s is held by another process (waited %s): %v", ErrLocked, e.Path, e.Waited, e.Err)
}

func (e *LockedError) Unwrap() []error { return []error{ErrLocked, e.Err} }

// SchemaError: the journal has a schema version newer than this build
// reads (errors.Is(err, ErrNewerSchema)). The file was not changed.
type SchemaError struct {
	Path  string
	Have  uint64 // the file's schema version
	Knows uint64 // the newest this build reads (SchemaVersion)
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%v: %s has schema version %d, this build knows up to %d (the file was not changed)", ErrNewerSchema, e.Path, e.Have, e.Knows)
}

func (e *SchemaError) Is(target error) bool { return target == ErrNewerSchema }

// FullError: the journal reached Options.MaxSize, so offline acceptance is
// refused (errors.Is(err, ErrFull)).
type FullError struct {
	Path      string
	Size, Max int64 // bytes
}

func (e *FullError) Error() string {
	return fmt.Sprintf("%v (%s is %d bytes, max %d)", ErrFull, e.Path, e.Size, e.Max)
}

func (e *FullError) Is(target error) bool { return target == ErrFull }
