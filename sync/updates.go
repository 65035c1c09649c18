package sync

import stdsync "sync"

// Update is one committed transition of one redemption: the engine
// publishes one for every commit that creates or moves a redemption
// (a scan online, the drain, an in-doubt resolution, a conflict, what
// Recover sets aside), after the commit, in commit order per redemption.
type Update struct {
	// Outcome is the redemption as the cashier would see it now; its
	// State is the state the commit left it in (Kind follows from it).
	Outcome
	// From is the state before the commit (store.None for a new
	// redemption); Via lists the states it passed in the same commit
	// (checked, between received and consuming).
	From State
	Via  []State
	// Lost counts the updates this subscription dropped, because it was
	// full, since the one delivered before this. Non-zero means the
	// subscriber has missed redemptions and should read the journal again.
	Lost int
}

// subBuffer bounds the updates one subscription holds for a reader that
// does not keep up.
var subBuffer = 4096

// Subscription delivers updates to one reader, every one of them while it
// keeps up. A reader slower than the engine never blocks it: updates wait
// in the subscription, and when subBuffer of them wait, the older updates
// of a redemption that has a newer one waiting are dropped (the reader
// still gets the latest state of each redemption, never an older state
// after a newer), then, if that is not enough, the oldest ones; the next
// update delivered says how many were dropped (Update.Lost).
type Subscription struct {
	c      chan Update
	wake   chan struct{}
	done   chan struct{} // Close
	mu     stdsync.Mutex
	queue  []Update // waiting, oldest first
	lost   int
	ending bool // the engine shut down: deliver what waits, then close C
	once   stdsync.Once
	b      *broker
}

// C delivers the updates. It is closed after Close, and after the engine's
// Shutdown once every update published before it was read.
func (s *Subscription) C() <-chan Update { return s.c }

// Close ends the subscription; C is closed soon after.
func (s *Subscription) Close() {
	s.once.Do(func() {
		close(s.done)
		s.b.remove(s)
	})
}

func (s *Subscription) publish(u Update) {
	s.mu.Lock()
	s.queue = append(s.queue, u)
	if len(s.queue) > subBuffer {
		s.shed()
	}
	s.mu.Unlock()
	s.poke()
}

// shed makes room (under mu): it keeps only the latest waiting update of
// each redemption, then drops the oldest until a quarter of the buffer is
// free, so that a reader that stays behind costs one pass per many
// updates, not one per update.
func (s *Subscription) shed() {
	latest := make(map[uint64]bool, len(s.queue))
	keep := make([]bool, len(s.queue))
	for i := len(s.queue) - 1; i >= 0; i-- {
		if id := s.queue[i].ID; !latest[id] {
			latest[id], keep[i] = true, true
		}
	}
	out := s.queue[:0]
	for i, u := range s.queue {
		if keep[i] {
			out = append(out, u)
		} else {
			s.lost++
		}
	}
	clear(s.queue[len(out):])
	s.queue = out
	if room := subBuffer - subBuffer/4; len(s.queue) > room {
		n := len(s.queue) - room
		s.lost += n
		s.queue = append(s.queue[:0:0], s.queue[n:]...)
	}
}

func (s *Subscription) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump hands waiting updates to the reader, one at a time, on its own
// goroutine: only it ever waits for the reader.
func (s *Subscription) pump() {
	defer close(s.c)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			ending := s.ending
			s.mu.Unlock()
			if ending {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		u := s.queue[0]
		s.queue[0] = Update{}
		s.queue = s.queue[1:]
		u.Lost, s.lost = s.lost, 0
		s.mu.Unlock()
		select {
		case s.c <- u:
		case <-s.done:
			return
		}
	}
}

// broker fans updates out to the subscriptions.
type broker struct {
	mu   stdsync.Mutex
	subs map[*Subscription]bool
	n    int // len(subs), read without mu to skip building updates nobody reads
}

func (b *broker) add() *Subscription {
	s := &Subscription{c: make(chan Update), wake: make(chan struct{}, 1), done: make(chan struct{}), b: b}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*Subscription]bool{}
	}
	b.subs[s] = true
	b.n = len(b.subs)
	b.mu.Unlock()
	go s.pump()
	return s
}

func (b *broker) remove(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.n = len(b.subs)
	b.mu.Unlock()
}

func (b *broker) any() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n > 0
}

func (b *broker) publish(u Update) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.publish(u)
	}
}

// end makes every subscription close its channel once drained.
func (b *broker) end() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		s.ending = true
		s.mu.Unlock()
		s.poke()
	}
}

// Subscribe returns a subscription to every redemption update from now
// on. Close it when done reading.
func (e *Engine) Subscribe() *Subscription { return e.updates.add() }

// publishing is the engine's journal: every commit that creates or moves
// a redemption is published (Update) once it returned. Commits of one
// redemption are published in their order: each holds the redemption's
// lock from before its commit until it is published.
type publishing struct {
	Journal
	e     *Engine
	mu    stdsync.Mutex
	locks map[uint64]*idLock
}

type idLock struct {
	stdsync.Mutex
	n int
}

func (p *publishing) lock(id uint64) func() {
	p.mu.Lock()
	l := p.locks[id]
	if l == nil {
		l = &idLock{}
		p.locks[id] = l
	}
	l.n++
	p.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		p.mu.Lock()
		if l.n--; l.n == 0 {
			delete(p.locks, id)
		}
		p.mu.Unlock()
	}
}

func (p *publishing) publish(r Record, from State, via []State) {
	if !p.e.updates.any() {
		return
	}
	p.e.updates.publish(Update{Outcome: p.e.outcome(r), From: from, Via: via})
}

func (p *publishing) Create(r Record, path ...State) (Record, error) {
	out, err := p.Journal.Create(r, path...)
	if err == nil {
		unlock := p.lock(out.ID)
		p.publish(out, StateNone, path[:len(path)-1])
		unlock()
	}
	return out, err
}

func (p *publishing) Transition(id uint64, from, to State, update func(*Record)) (Record, error) {
	unlock := p.lock(id)
	defer unlock()
	out, err := p.Journal.Transition(id, from, to, update)
	if err == nil {
		p.publish(out, from, nil)
	}
	return out, err
}

func (p *publishing) TransitionBatch(id uint64, from, to State, update func(*Record)) (Record, error) {
	unlock := p.lock(id)
	defer unlock()
	out, err := p.Journal.TransitionBatch(id, from, to, update)
	if err == nil {
		p.publish(out, from, nil)
	}
	return out, err
}

func (p *publishing) TransitionVia(id uint64, from State, via []State, to State, update func(*Record)) (Record, error) {
	unlock := p.lock(id)
	defer unlock()
	out, err := p.Journal.TransitionVia(id, from, via, to, update)
	if err == nil {
		p.publish(out, from, via)
	}
	return out, err
}

func (p *publishing) AcceptOffline(id uint64, from State, max int, update func(*Record)) (Record, error) {
	unlock := p.lock(id)
	defer unlock()
	out, err := p.Journal.AcceptOffline(id, from, max, update)
	if err == nil {
		p.publish(out, from, nil)
	}
	return out, err
}
