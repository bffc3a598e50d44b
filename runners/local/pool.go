package local

import (
	"sync"
	"sync/atomic"
)

// pool runs data-parallel loops on a fixed set of long-lived worker
// goroutines plus the calling goroutine. Work is handed out in chunks from
// an atomic counter, so a worker slowed down by other load on the machine
// takes fewer chunks. run is not reentrant: one loop at a time. A loop
// allocates nothing: fn is a long-lived func value owned by the caller.
type pool struct {
	threads int
	start   []chan struct{}
	wg      sync.WaitGroup

	fn    func(lo, hi int)
	n     int64
	chunk int64
	next  atomic.Int64
}

// newPool starts threads-1 workers (the caller is the last thread).
func newPool(threads int) *pool {
	if threads < 1 {
		threads = 1
	}
	p := &pool{threads: threads}
	for i := 0; i < threads-1; i++ {
		c := make(chan struct{}, 1)
		p.start = append(p.start, c)
		go p.worker(c)
	}
	return p
}

func (p *pool) worker(c chan struct{}) {
	for range c {
		p.loop()
		p.wg.Done()
	}
}

// close stops the workers.
func (p *pool) close() {
	for _, c := range p.start {
		close(c)
	}
	p.start = nil
}

func (p *pool) loop() {
	for {
		lo := p.next.Add(p.chunk) - p.chunk
		if lo >= p.n {
			return
		}
		p.fn(int(lo), int(min(lo+p.chunk, p.n)))
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
	p.fn, p.n, p.chunk = fn, int64(n), int64(chunk)
	p.next.Store(0)
	p.wg.Add(len(p.start))
	for _, c := range p.start {
		c <- struct{}{}
	}
	p.loop()
	p.wg.Wait()
	p.fn = nil
}
