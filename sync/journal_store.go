package sync

import (
	"errors"
	"fmt"
	"time"

	"cardtill/store"
)

// NewJournal adapts the bbolt journal to the engine; terminal is this
// till's id, whose shifts the engine uses.
func NewJournal(db *store.DB, terminal string) Journal { return storeJournal{db, terminal} }

type storeJournal struct {
	db       *store.DB
	terminal string
}

// by is the actor recorded in the history of the engine's transitions.
const by = "engine"

func fromStore(s store.Redemption) Record {
	return Record{
		ID: s.ID, Code: s.Code, CardID: s.CardID, EncryptCode: s.EncryptCode,
		Source: s.Source, RawScan: s.RawScan, Cashier: s.Cashier, ShiftID: s.ShiftID, Terminal: s.Terminal,
		State: s.State, Reason: Reason(s.Reason), ReasonText: s.ReasonText, Errcode: s.Errcode,
		WeChatStatus: s.WeChatStatus, OpenID: s.OpenID, ValidFrom: s.ValidFrom, ValidUntil: s.ValidUntil,
		ReceivedAt: s.CreatedAt, AcceptedAt: s.OfflineAcceptedAt, UpdatedAt: s.UpdatedAt,
		Attempts: s.Attempts, NextAttempt: s.DueAt, LastError: s.LastError,
	}
}

// toStore copies r onto s, leaving what the store maintains itself.
func toStore(r Record, s *store.Redemption) {
	s.CardID, s.EncryptCode, s.Source, s.RawScan = r.CardID, r.EncryptCode, r.Source, r.RawScan
	s.Cashier, s.ShiftID, s.Terminal = r.Cashier, r.ShiftID, r.Terminal
	s.Reason, s.ReasonText, s.Errcode = string(r.Reason), r.ReasonText, r.Errcode
	s.WeChatStatus, s.OpenID, s.ValidFrom, s.ValidUntil = r.WeChatStatus, r.OpenID, r.ValidFrom, r.ValidUntil
	s.CreatedAt, s.OfflineAcceptedAt = r.ReceivedAt, r.AcceptedAt
	s.Attempts, s.DueAt, s.LastError = r.Attempts, r.NextAttempt, r.LastError
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrActiveExists):
		return fmt.Errorf("%w: %w", ErrActive, err)
	case errors.Is(err, store.ErrStateConflict):
		return fmt.Errorf("%w: %w", ErrStale, err)
	case errors.Is(err, store.ErrFull):
		return fmt.Errorf("%w: %w", ErrJournalFull, err)
	case errors.Is(err, store.ErrOfflineLimit):
		return fmt.Errorf("%w: %w", ErrOfflineLimit, err)
	}
	return err
}

func (j storeJournal) Find(code string) (active, used *Record, err error) {
	a, ok, err := j.db.ActiveByCode(code)
	if err != nil {
		return nil, nil, err
	}
	if ok {
		r := fromStore(a)
		active = &r
	}
	fc, ok, err := j.db.FinishedByCode(code)
	if err != nil || !ok {
		return active, nil, err
	}
	u, err := j.db.Get(fc.ID)
	if fc.Pruned || errors.Is(err, store.ErrNotFound) {
		// Retention pruned the redemption; the journal's tombstone of it
		// is what is left, and enough to refuse the code as used here.
		u, err = store.Redemption{ID: fc.ID, Code: code, CardID: fc.CardID, Terminal: fc.Terminal, Cashier: fc.Cashier,
			ShiftID: fc.ShiftID, State: fc.State, UpdatedAt: fc.At}, nil
	}
	if err != nil {
		return active, nil, err
	}
	r := fromStore(u)
	if r.State != StateConsumed && r.State != StateQueued {
		// The index remembers what was used here even if a later drain
		// turned it into a conflict: keep the fact, say it as recorded.
		r.State = fc.State
	}
	if r.AcceptedAt.IsZero() && r.State == StateConsumed {
		r.UpdatedAt = fc.At
	}
	return active, &r, nil
}

func (j storeJournal) Create(r Record, path ...State) (Record, error) {
	if len(path) == 0 || path[len(path)-1] != r.State {
		return Record{}, fmt.Errorf("journal: creation path %v does not end in %s", path, r.State)
	}
	var s store.Redemption
	toStore(r, &s)
	s.Code, s.State = r.Code, r.State
	out, err := j.db.Create(s, by, path[:len(path)-1]...)
	if err != nil {
		return Record{}, mapErr(err)
	}
	return fromStore(out), nil
}

func (j storeJournal) change(update func(*Record)) store.Change {
	ch := store.Change{By: by}
	if update == nil {
		return ch
	}
	// The history entry says why: what the update sets.
	var probe Record
	update(&probe)
	ch.Errcode, ch.WeChatStatus, ch.Reason, ch.Err = probe.Errcode, probe.WeChatStatus, string(probe.Reason), probe.LastError
	ch.Update = func(s *store.Redemption) {
		r := fromStore(*s)
		update(&r)
		toStore(r, s)
	}
	return ch
}

func (j storeJournal) Transition(id uint64, from, to State, update func(*Record)) (Record, error) {
	out, err := j.db.Transition(id, from, to, j.change(update))
	if err != nil {
		return Record{}, mapErr(err)
	}
	return fromStore(out), nil
}

func (j storeJournal) TransitionVia(id uint64, from State, via []State, to State, update func(*Record)) (Record, error) {
	ch := j.change(update)
	ch.Via = via
	out, err := j.db.Transition(id, from, to, ch)
	if err != nil {
		return Record{}, mapErr(err)
	}
	return fromStore(out), nil
}

func (j storeJournal) AcceptOffline(id uint64, from State, max int, update func(*Record)) (Record, error) {
	ch := j.change(update)
	ch.MaxOfflineInShift = &max
	out, err := j.db.Transition(id, from, store.Queued, ch)
	if err != nil {
		return Record{}, mapErr(err)
	}
	return fromStore(out), nil
}

// metaPrefix names the engine's keys in the store's meta bucket.
const metaPrefix = "sync."

func (j storeJournal) Meta(key string) (string, error) {
	v, err := j.db.Meta(metaPrefix + key)
	return string(v), err
}

func (j storeJournal) PutMeta(key, value string) error {
	return j.db.PutMeta(metaPrefix+key, []byte(value))
}

func (j storeJournal) TransitionBatch(id uint64, from, to State, update func(*Record)) (Record, error) {
	out, err := j.db.TransitionBatch(id, from, to, j.change(update))
	if err != nil {
		return Record{}, mapErr(err)
	}
	return fromStore(out), nil
}

func (j storeJournal) Get(id uint64) (Record, error) {
	r, err := j.db.Get(id)
	return fromStore(r), err
}

func (j storeJournal) Due(now time.Time, limit int) ([]Record, error) {
	rs, err := j.db.Find(store.Query{Index: store.Outbox, Until: now, Limit: limit})
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = fromStore(r)
	}
	return out, err
}

func (j storeJournal) NextDue() (time.Time, bool, error) {
	rs, err := j.db.Find(store.Query{Index: store.Outbox, Limit: 1})
	if err != nil || len(rs) == 0 {
		return time.Time{}, false, err
	}
	return rs[0].DueAt, true, nil
}

func (j storeJournal) ByState(states ...State) ([]Record, error) {
	var out []Record
	for _, s := range states {
		rs, err := j.db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, fromStore(r))
		}
	}
	return out, nil
}

func (j storeJournal) Counts() (pending, inDoubt, conflicts int, err error) {
	// only these states' keys: the status is read every second
	n, err := j.db.Counts(store.Query{Index: store.ByState, State: store.Queued}, store.Query{Index: store.ByState, State: store.Consuming},
		store.Query{Index: store.ByState, State: store.InDoubt}, store.Query{Index: store.ByState, State: store.Conflict})
	if err != nil {
		return 0, 0, 0, err
	}
	return n[0] + n[1] + n[2], n[2], n[3], nil
}

func (j storeJournal) CodeStatus(code string) (*CachedStatus, error) {
	cs, ok, err := j.db.CodeStatus(code)
	if err != nil || !ok {
		return nil, err
	}
	return &CachedStatus{Status: cs.Status, CardID: cs.CardID, At: cs.At}, nil
}

func (j storeJournal) PutCodeStatuses(changes []CodeChange, cursor string) error {
	cs := make([]store.CodeStatus, len(changes))
	for i, c := range changes {
		cs[i] = store.CodeStatus{Code: c.Code, Status: c.Status, CardID: c.CardID, Source: "hub-feed", At: c.At}
	}
	return j.db.PutCodeStatuses(cs, &cursor)
}

func (j storeJournal) FeedCursor() (string, error) { return j.db.FeedCursor() }

func (j storeJournal) CardTitle(cardID string) (string, bool) {
	c, ok, err := j.db.Card(cardID)
	if err != nil || !ok {
		return "", false
	}
	return c.Title, true
}

func (j storeJournal) PutCard(cardID, title string) error {
	return j.db.PutCard(store.Card{CardID: cardID, Title: title})
}

func (j storeJournal) CurrentShift() (uint64, string, bool, error) {
	s, ok, err := j.db.CurrentShift(j.terminal)
	if err != nil || !ok {
		return 0, "", false, err
	}
	return s.ID, s.Cashier, true, nil
}

func (j storeJournal) OpenShift(cashier string, _ time.Time) (uint64, error) {
	s, err := j.db.OpenShift(j.terminal, cashier)
	if errors.Is(err, store.ErrShiftOpen) {
		// Another scan opened it a moment ago: use that one.
		if id, _, ok, err2 := j.CurrentShift(); err2 == nil && ok {
			return id, nil
		}
	}
	if err != nil {
		return 0, err
	}
	return s.ID, nil
}

func (j storeJournal) OfflineAccepted(shiftID uint64) (int, error) {
	return j.db.OfflineAccepted(shiftID)
}

var _ Journal = storeJournal{}
