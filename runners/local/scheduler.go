package local

import (
	"context"
	"sync"

	"github.com/actorinfer/actorinfer/messages"
)

// scheduler is the one goroutine that owns an engine. Each step it batches
// the current token of every active sequence (up to max batch) into one
// forward pass, samples, streams, and admits waiting sequences between
// steps. Cancelled sequences leave at their next step.
type scheduler struct {
	eng *engine
	tok *Tokenizer

	mu       sync.Mutex
	pending  []*sequence
	inFlight int // admitted or queued sequences
	closed   bool
	wake     chan struct{} // capacity 1
	done     chan struct{} // closed when the loop has exited

	active []*sequence
	free   []*kvCache

	// Step buffers.
	toks, pos []int
	caches    []*kvCache
	want      []bool
	run       []int
}

func newScheduler(eng *engine, tok *Tokenizer) *scheduler {
	s := &scheduler{
		eng: eng, tok: tok,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		toks:   make([]int, eng.maxB),
		pos:    make([]int, eng.maxB),
		caches: make([]*kvCache, eng.maxB),
		want:   make([]bool, eng.maxB),
		run:    make([]int, eng.maxB),
	}
	go s.loop()
	return s
}

// submit queues a sequence; false when the scheduler is closed.
func (s *scheduler) submit(q *sequence) bool {
	// A cancelled sequence leaves at the next step; wake an idle loop.
	q.stopWake = context.AfterFunc(q.ctx, s.signal)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		q.stopWake()
		return false
	}
	s.pending = append(s.pending, q)
	s.inFlight++
	s.mu.Unlock()
	s.signal()
	return true
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// close stops admitting new sequences; the loop finishes the admitted and
// queued ones, then releases the engine. It returns at once; wait on done.
func (s *scheduler) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

// admit moves queued sequences into free batch slots, dropping cancelled ones.
func (s *scheduler) admit() (exit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.pending[:0]
	for _, q := range s.pending {
		switch {
		case q.ctx.Err() != nil:
			q.fail(q.ctx.Err())
			q.stopWake()
			s.inFlight--
		case len(s.active) < s.eng.maxB:
			if n := len(s.free); n > 0 {
				q.cache = s.free[n-1]
				s.free = s.free[:n-1]
			} else {
				q.cache = s.eng.newCache()
			}
			s.active = append(s.active, q)
		default:
			kept = append(kept, q)
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	return s.closed && len(s.active) == 0 && len(s.pending) == 0
}

func (s *scheduler) loop() {
	defer close(s.done)
	defer s.eng.close()
	for {
		if s.admit() {
			return
		}
		if len(s.active) == 0 || !s.step() {
			<-s.wake
		}
	}
}

// retire removes sequence i from the batch and recycles its cache.
func (s *scheduler) retire(i int) {
	q := s.active[i]
	s.free = append(s.free, q.cache)
	q.cache = nil
	q.stopWake()
	s.active[i] = nil
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// pendingCount reports the sequences admitted or queued.
func (s *scheduler) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// step decodes one token of every active sequence; false when none could
// run (all held by the test hook).
func (s *scheduler) step() bool {
	// Cancellation stops a sequence at its next token.
	for i, q := range s.active {
		if err := q.ctx.Err(); err != nil {
			q.fail(err)
			s.retire(i)
		}
	}
	s.compact()
	// The batch: every active sequence not held by the test hook. run
	// maps batch rows back to active indices.
	nb := 0
	for i, q := range s.active {
		if q.stalled() {
			continue
		}
		s.toks[nb], s.pos[nb], s.caches[nb], s.want[nb] = q.next, q.pos, q.cache, q.wantsLogits()
		s.run[nb] = i
		nb++
	}
	if nb == 0 {
		return len(s.active) == 0
	}
	s.eng.step(nb, s.toks, s.pos, s.caches, s.want)
	V := s.eng.p.VocabSize
	for bi, i := range s.run[:nb] {
		q := s.active[i]
		q.pos++
		if !s.want[bi] {
			q.next = q.prompt[q.pos]
			continue
		}
		next := q.sampler.sample(s.eng.logits[bi*V : (bi+1)*V])
		q.sampler.penalize(next)
		q.gen++
		if next == s.tok.EOS || next == s.tok.BOS {
			q.finish(q.flush(), messages.FinishReason_FINISH_REASON_STOP)
			s.retire(i)
			continue
		}
		text, stopped := q.emit(s.tok.Decode(q.next, next))
		q.next = next
		switch {
		case stopped:
			q.finish(text, messages.FinishReason_FINISH_REASON_STOP)
			s.retire(i)
		case q.gen >= q.maxNew || q.pos >= s.eng.ctx:
			q.finish(text+q.flush(), messages.FinishReason_FINISH_REASON_LENGTH)
			s.retire(i)
		default:
			if !q.send(text, messages.FinishReason_FINISH_REASON_UNSPECIFIED) {
				q.fail(q.ctx.Err())
				s.retire(i)
			}
		}
	}
	s.compact()
	return true
}

// compact drops retired (nil) sequences, keeping admission order.
func (s *scheduler) compact() {
	kept := s.active[:0]
	for _, q := range s.active {
		if q != nil {
			kept = append(kept, q)
		}
	}
	clear(s.active[len(kept):])
	s.active = kept
}
