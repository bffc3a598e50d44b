package actors

import (
	"runtime"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// PoolDispatcher runs actor mailboxes on a fixed set of long-lived
// goroutines instead of protoactor's default goroutine per wake-up. A
// woken idle actor otherwise pays for a new goroutine and for growing its
// stack, which dominates a short message hop; pooled goroutines keep their
// grown stacks. When every worker is busy and the backlog is full, Schedule
// falls back to a fresh goroutine, so it never blocks a sender.
//
// Actors on a pool must not block for long in Receive (the runner actor
// runs Execute and RebuildSession off its goroutine for that reason).
// Safe for concurrent use.
type PoolDispatcher struct {
	work       chan func()
	throughput int
	stop       sync.Once
	mu         sync.RWMutex // Schedule holds it shared; Stop exclusively
	stopped    bool
}

var _ actor.Dispatcher = (*PoolDispatcher)(nil)

// NewPoolDispatcher starts workers goroutines (0 means GOMAXPROCS) that each
// process up to throughput messages of one mailbox per turn.
func NewPoolDispatcher(workers, throughput int) *PoolDispatcher {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if throughput <= 0 {
		throughput = 300
	}
	d := &PoolDispatcher{work: make(chan func(), 4096), throughput: throughput}
	for i := 0; i < workers; i++ {
		go d.worker()
	}
	return d
}

func (d *PoolDispatcher) worker() {
	for fn := range d.work {
		fn()
	}
}

// Schedule implements actor.Dispatcher.
func (d *PoolDispatcher) Schedule(fn func()) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.stopped {
		// Stragglers (a stream reporting after shutdown) still run.
		go fn()
		return
	}
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

// Throughput implements actor.Dispatcher.
func (d *PoolDispatcher) Throughput() int { return d.throughput }

// Stop ends the workers once the backlog is drained. Mailboxes scheduled
// after Stop run on goroutines of their own.
func (d *PoolDispatcher) Stop() {
	d.stop.Do(func() {
		d.mu.Lock()
		d.stopped = true
		close(d.work)
		d.mu.Unlock()
	})
}
