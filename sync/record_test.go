package sync

import (
	"reflect"
	"testing"
	"time"

	"cardtill/store"
)

// The engine's Record and the store's Redemption are two shapes of one
// redemption (docs/ARCHITECTURE.md, "One shape for a redemption"), with
// one mapping each way (toStore, fromStore). Every field of Record
// survives the round trip through the store's shape, so a field added to
// Record and not to the mapping fails here; and a journaled redemption
// shows the same answer as the engine gives (OutcomeOf, its kind by
// KindOf).
func TestRecordMapsEveryField(t *testing.T) {
	t.Parallel()
	var r Record
	v := reflect.ValueOf(&r).Elem()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + "-value")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Struct: // time.Time
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Minute)))
		default:
			t.Fatalf("Record.%s: a %s field this test does not fill", v.Type().Field(i).Name, f.Kind())
		}
	}
	r.State = StateQueued
	var s store.Redemption
	toStore(r, &s)
	// What the store keeps itself: the ID, the code and state it was
	// created with, its own stamp of the last move.
	s.ID, s.Code, s.State, s.UpdatedAt = r.ID, r.Code, r.State, r.UpdatedAt
	if got := fromStore(s); !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip through store.Redemption:\n got %+v\nwant %+v", got, r)
	}
	for _, st := range store.AllStates {
		s.State = st
		o := OutcomeOf(s)
		if o.Kind != KindOf(st) || o.State != st || o.Code != r.Code || o.Reason != r.Reason || o.At != r.UpdatedAt || o.OpenID != r.OpenID {
			t.Fatalf("OutcomeOf in %s: %+v", st, o)
		}
	}
}
