package local

import (
	"runtime"
	"sync/atomic"
	"time"
)

// pool runs data-parallel loops on a fixed set of long-lived worker
// goroutines plus the calling goroutine. Work is handed out in chunks from
// an atomic counter, so a worker slowed down by other load on the machine
// takes fewer chunks. run is not reentrant: one loop at a time. A loop
// allocates nothing: fn is a long-lived func value owned by the caller.
//
// A decode step is a few dozen short loops back to back, so after a loop a
// worker spins for a moment (spinFor) watching for the next one before it
// parks: waking a parked goroutine's thread costs tens of microseconds on
// a busy machine, as much as a small matrix product.
type pool struct {
	threads int
	spin    time.Duration // how long an idle worker spins before parking
	workers []*poolWorker
	pending atomic.Int64  // workers still in the current loop
	gen     atomic.Uint64 // incremented by each run
	closed  atomic.Bool

	// jobs alternate between two loop descriptions, published through job
	// before gen is incremented: a worker reads the description it saw
	// published, which is not rewritten until the loop after the next one
	// (and no loop allocates).
	jobs [2]poolJob
	job  atomic.Pointer[poolJob]
}

// poolJob is one parallel loop.
type poolJob struct {
	fn    func(lo, hi int)
	n     int64
	chunk int64
	next  atomic.Int64
}

type poolWorker struct {
	wake   chan struct{} // capacity 1
	parked atomic.Bool
}

// spinFor is how long an idle worker watches for the next loop.
const spinFor = 100 * time.Microsecond

// newPool starts threads-1 workers (the caller is the last thread).
func newPool(threads int) *pool { return newPoolSpin(threads, spinFor) }

func newPoolSpin(threads int, spin time.Duration) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{threads: threads, spin: spin}
	for i := 0; i < threads-1; i++ {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.worker(w, 0) // gen is 0 until the first run
	}
	return p
}

func (p *pool) worker(w *poolWorker, seen uint64) {
	for {
		if !p.await(w, seen) {
			return
		}
		seen = p.gen.Load()
		p.job.Load().loop()
		p.pending.Add(-1)
	}
}

// await returns when a loop newer than seen has started (true) or the pool
// is closed (false): spinning first, then parked on the wake channel.
func (p *pool) await(w *poolWorker, seen uint64) bool {
	deadline := time.Now().Add(p.spin)
	for i := 0; ; i++ {
		if p.gen.Load() != seen {
			return true
		}
		if p.closed.Load() {
			return false
		}
		if i%64 == 63 {
			// Let other goroutines of this P run (the caller may be one).
			runtime.Gosched()
			if time.Now().After(deadline) {
				break
			}
		}
	}
	w.parked.Store(true)
	// run increments gen before it looks at parked: either we see the new
	// generation here, or run sees parked and sends a wake-up.
	if p.gen.Load() != seen || p.closed.Load() {
		if w.parked.CompareAndSwap(true, false) {
			return !p.closed.Load() || p.gen.Load() != seen
		}
		// run claimed the wake-up: take it.
	}
	_, ok := <-w.wake
	return ok
}

// close stops the workers.
func (p *pool) close() {
	p.closed.Store(true)
	for _, w := range p.workers {
		close(w.wake)
	}
	p.workers = nil
}

func (j *poolJob) loop() {
	for {
		lo := j.next.Add(j.chunk) - j.chunk
		if lo >= j.n {
			return
		}
		j.fn(int(lo), int(min(lo+j.chunk, j.n)))
	}
}

// run calls fn over [0, n) in chunks of at least grain items, in parallel.
func (p *pool) run(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if p.threads == 1 || n <= grain {
		fn(0, n)
		return
	}
	chunk := (n + 4*p.threads - 1) / (4 * p.threads)
	chunk = max(chunk, grain)
	j := &p.jobs[(p.gen.Load()+1)%2]
	j.fn, j.n, j.chunk = fn, int64(n), int64(chunk)
	j.next.Store(0)
	p.job.Store(j)
	p.pending.Store(int64(len(p.workers)))
	p.gen.Add(1)
	for _, w := range p.workers {
		if w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	j.loop()
	// The workers are finishing their last chunks: wait for them without
	// parking (yielding, in case one of them shares this thread).
	for p.pending.Load() > 0 {
		runtime.Gosched()
	}
}
