package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"cardtill/internal/control"

	"cardtill/store"
)

// doctor's journal and queue checks. The journal is read in one of two
// ways: through the control socket of the cardtill that holds it (run or
// sync; bbolt lets one process open the file for writing), or, when none
// holds it, by opening it read-only. Doctor never waits on, or takes, the
// till's write lock.

// Queue thresholds. A queue drains within seconds of WeChat answering, so
// an item waiting longer than queueWarnAge means WeChat has been out of
// reach that long, or nothing is draining the queue.
const queueWarnAge = 30 * time.Minute

// journalState is what the journal check learned, for the queue check.
type journalState struct {
	st *control.TillStatus // nil when the queue could not be read
	// why the queue could not be read, and what to do (when st is nil).
	why, fix string
	// status of the queue finding when st is nil.
	status string
}

// checkJournal checks the journal named by [store] path: it exists (or can
// be created), opens, is consistent (when no till holds it) and how full it
// is against store.max_size_mb. A journal held by a running till is fine:
// its figures come through the till's control socket.
func (d *Doctor) checkJournal(ctx context.Context) (Finding, journalState) {
	path := d.cfg.Store.Path
	f := Finding{Name: "journal"}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if werr := dirWritable(dir); werr != nil {
			f.Status, f.Detail = Fail, fmt.Sprintf("%s does not exist and cannot be created: %v", path, werr)
			f.Fix = fmt.Sprintf("create %s owned by the user cardtill runs as (the package makes /var/lib/cardtill for user cardtill), or set store.path", dir)
			return f, journalState{status: OK, why: "no journal yet"}
		}
		f.Status, f.Detail = OK, path+" not created yet: the first 'cardtill run' creates it"
		return f, journalState{st: &control.TillStatus{Journal: path, Max: int64(d.cfg.Store.MaxSizeMB) << 20}}
	}
	if err != nil {
		f.Status, f.Detail = Fail, fmt.Sprintf("%s: %v", path, err)
		f.Fix = "check the permissions of the folder holding store.path"
		return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
	}
	if fi.IsDir() {
		f.Status, f.Detail = Fail, path+" is a folder, not a journal file"
		f.Fix = "set store.path to a file name inside it, e.g. " + filepath.Join(path, "journal.db")
		return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
	}

	// A running till answers on its control socket.
	sock := control.SocketPath(path)
	c, cerr := control.Dial(ctx, sock)
	if cerr == nil {
		defer c.Close()
		if !c.Holds(path) {
			f.Status, f.Detail = Fail, fmt.Sprintf("the cardtill answering on %s (pid %d) holds %s, not %s", sock, c.Peer().PID, c.Peer().Journal, path)
			f.Fix = "two tills are configured with crossing paths: give each its own store.path"
			return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
		}
		st, err := c.Status(ctx)
		if err != nil {
			f.Status = OK
			f.Detail = fmt.Sprintf("%s is in use by the running till (ok), pid %d; its size: %s", path, c.Peer().PID, humanBytes(fi.Size()))
			return d.sized(f, fi.Size()), journalState{status: Warn,
				why: fmt.Sprintf("the running till (pid %d) did not give its queue: %v", c.Peer().PID, err),
				fix: "upgrade and restart the till so that it and this cardtill are the same version"}
		}
		f.Status = OK
		f.Detail = fmt.Sprintf("%s is in use by the running till (ok), pid %d; %s", path, st.PID, d.ofMax(st.Size))
		f.Fix = "for a full consistency check while it runs: cardtill db check"
		return d.sized(f, st.Size), journalState{st: &st}
	}

	db, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: d.cfg.Store.LockTimeout.Duration,
		MaxSize: int64(d.cfg.Store.MaxSizeMB) << 20, Logger: slog.New(slog.DiscardHandler)})
	switch {
	case errors.Is(err, store.ErrLocked):
		// Held, and nothing answers on the socket: an older cardtill, a
		// one-shot command (redeem, sync --once, compact), or a socket
		// this user may not use.
		f.Status = OK
		f.Detail = fmt.Sprintf("%s is in use by a running cardtill (ok); its size: %s", path, d.ofMax(fi.Size()))
		return d.sized(f, fi.Size()), journalState{status: Warn,
			why: fmt.Sprintf("the cardtill holding the journal does not answer on its control socket (%v)", cerr),
			fix: "run doctor as the till's user or root (sudo -u cardtill cardtill doctor); a one-shot command (redeem, sync --once, db compact) frees the journal when it ends; an older till: upgrade and restart it"}
	case errors.Is(err, fs.ErrPermission):
		f.Status, f.Detail = Fail, fmt.Sprintf("%s: permission denied", path)
		f.Fix = "run doctor as the user cardtill runs as (sudo -u cardtill cardtill doctor), or fix the file's owner (chown cardtill:cardtill " + path + ")"
		return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
	case errors.Is(err, store.ErrNewerSchema):
		f.Status, f.Detail = Fail, err.Error()
		f.Fix = "install the cardtill version that wrote it (or newer); the file was not changed"
		return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
	case err != nil:
		f.Status, f.Detail = Fail, fmt.Sprintf("%s cannot be opened: %v", path, err)
		f.Fix = "the file is damaged or not a cardtill journal: restore the last backup (see the install guide), keeping the damaged file aside"
		return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
	}
	defer db.Close()
	if cerr := db.Check(); cerr != nil {
		f.Status, f.Detail = Fail, fmt.Sprintf("%s is inconsistent: %v", path, cerr)
		f.Fix = "keep the file aside and restore the last backup (see the install guide)"
		return f, journalState{status: Warn, why: "the journal is inconsistent", fix: "see the journal finding"}
	}
	st, err := control.ReadTillStatus(db)
	if err != nil {
		f.Status, f.Detail = Fail, fmt.Sprintf("%s: %v", path, err)
		f.Fix = "run 'cardtill db check' for details; restore the last backup if it fails"
		return f, journalState{status: Warn, why: "the journal cannot be read", fix: "see the journal finding"}
	}
	f.Status, f.Detail = OK, fmt.Sprintf("%s opens and is consistent; %s", path, d.ofMax(st.Size))
	return d.sized(f, st.Size), journalState{st: &st}
}

// ofMax says size against store.max_size_mb.
func (d *Doctor) ofMax(size int64) string {
	max := int64(d.cfg.Store.MaxSizeMB) << 20
	return fmt.Sprintf("%s of %s (store.max_size_mb, %.0f%%)", humanBytes(size), humanBytes(max), 100*float64(size)/float64(max))
}

// sized adds the fullness verdict to a journal finding that is otherwise
// fine. When the journal is full the till refuses offline acceptance; the
// warning comes at JournalWarnFraction, well before.
func (d *Doctor) sized(f Finding, size int64) Finding {
	max := int64(d.cfg.Store.MaxSizeMB) << 20
	switch {
	case max <= 0 || f.Status == Fail:
	case size >= max:
		f.Status = Warn
		f.Detail += "; FULL: offline acceptance is refused"
		f.Fix = "make sure the queue drains (WeChat reachable), then lower store.retain_days (finished redemptions older than that are pruned) and run 'cardtill db compact' with the till stopped, or raise store.max_size_mb if the disk has room"
	case float64(size) >= JournalWarnFraction*float64(max):
		f.Status = Warn
		f.Detail += "; nearly full (offline acceptance stops at 100%)"
		f.Fix = "lower store.retain_days or raise store.max_size_mb before offline acceptance stops; 'cardtill db compact' (till stopped) gives back the space of pruned redemptions"
	}
	return f
}

// checkQueue reports what waits for WeChat: how many, since when, and the
// conflicts a manager must see. wechatOK says whether WeChat answered
// doctor just now, to tell "offline" from "not draining".
func (d *Doctor) checkQueue(js journalState, wechatOK bool) Finding {
	f := Finding{Name: "queue"}
	if js.st == nil {
		f.Status, f.Detail, f.Fix = js.status, "not checked: "+js.why, js.fix
		return f
	}
	st := *js.st
	now := d.now()
	if st.Waiting == 0 {
		f.Status, f.Detail = OK, "empty: nothing waits for WeChat"
	} else {
		age := now.Sub(st.Oldest)
		f.Detail = fmt.Sprintf("%d waiting for WeChat, the oldest scanned %s ago (%s)", st.Waiting, roundAge(age), st.Oldest.Local().Format("2006-01-02 15:04"))
		if st.InDoubt > 0 {
			f.Detail += fmt.Sprintf(", %d in doubt (answer lost; resolved by a query, never consumed twice)", st.InDoubt)
		}
		if !st.NextDue.IsZero() {
			if st.NextDue.After(now) {
				f.Detail += fmt.Sprintf("; next try in %s", roundAge(st.NextDue.Sub(now)))
			} else {
				f.Detail += "; due now"
			}
		}
		f.Status = OK
		if age >= queueWarnAge {
			f.Status = Warn
			if wechatOK {
				f.Fix = "WeChat answers now but the queue has not drained: check that the till runs (cardtill run; or 'cardtill sync --once' while it is stopped) and read its log"
			} else {
				f.Fix = "bring the internet connection back (see the wechat finding); the queue drains by itself once WeChat answers"
			}
			if ma := d.cfg.Offline.MaxAge.Duration; ma > 0 && age >= ma {
				f.Fix += fmt.Sprintf("; offline longer than offline.max_age (%s): the till now refuses codes it cannot check", ma)
			}
		}
	}
	if open := st.Conflicts - st.ConflictsResolved; st.Conflicts > 0 && open <= 0 {
		f.Detail += fmt.Sprintf("; %d conflicts, all resolved by a manager", st.Conflicts)
	} else if st.Conflicts > 0 {
		f.Detail += fmt.Sprintf("; %d conflicts (accepted offline, refused by WeChat later): %d open, %d resolved", st.Conflicts, open, st.ConflictsResolved)
		if f.Status == OK {
			f.Status = Warn
		}
		fix := "a manager should follow up the open conflicts on the till screen (F3: Tab picks one, Enter shows it, F7 resolves it with a note): the customer got something WeChat did not write off"
		if f.Fix == "" {
			f.Fix = fix
		} else {
			f.Fix += "; " + fix
		}
	}
	return f
}

// roundAge prints an age to a sensible precision.
func roundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 24*time.Hour:
		return d.Round(time.Minute).String()
	}
	h := int(d.Round(time.Hour) / time.Hour)
	return fmt.Sprintf("%dd%dh", h/24, h%24)
}
