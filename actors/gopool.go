package actors

import "time"

// goPool runs functions on reused goroutines. A stream pump runs for the
// whole life of a request and its first steps (building and decoding
// provider JSON) grow its stack; a fresh goroutine per request pays for that
// growth every time, a reused one only once. Idle goroutines wait idle
// before exiting, so the pool shrinks after a burst. There is no bound on
// running goroutines: Go never waits for a free worker. Safe for concurrent
// use; the zero value is not usable.
type goPool struct {
	work chan func() // unbuffered: a send succeeds only into an idle worker
	idle time.Duration
}

func newGoPool(idle time.Duration) *goPool {
	return &goPool{work: make(chan func()), idle: idle}
}

// Go runs fn on an idle pooled goroutine, or on a new one.
func (p *goPool) Go(fn func()) {
	select {
	case p.work <- fn:
	default:
		go p.worker(fn)
	}
}

func (p *goPool) worker(fn func()) {
	fn()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		select {
		case fn := <-p.work:
			fn()
			t.Reset(p.idle)
		case <-t.C:
			return
		}
	}
}
