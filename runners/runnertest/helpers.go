package runnertest

import (
	"context"
	"errors"
	"io"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// batch is the suite's request: the harness prompt as the last user message.
func (s *suite) batch(stream bool, maxTokens int32) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{
		RequestId: "runnertest-1",
		Model:     s.h.Model,
		Stream:    stream,
		Messages: []*messages.ChatMessage{
			{Role: messages.Role_ROLE_SYSTEM, Content: "You are a test."},
			{Role: messages.Role_ROLE_USER, Content: s.h.Prompt},
		},
		Sampling: &messages.Sampling{MaxTokens: maxTokens},
	}
}

type recvResult struct {
	c   *messages.TokenChunk
	err error
}

// recv calls h.Recv and fails the test when it does not return within the
// timeout.
func (s *suite) recv(t *testing.T, h runners.RunHandle) (*messages.TokenChunk, error) {
	t.Helper()
	return s.await(t, s.recvAsync(h), "Recv")
}

func (s *suite) recvAsync(h runners.RunHandle) <-chan recvResult {
	ch := make(chan recvResult, 1)
	go func() {
		c, err := h.Recv()
		ch <- recvResult{c, err}
	}()
	return ch
}

func (s *suite) await(t *testing.T, ch <-chan recvResult, what string) (*messages.TokenChunk, error) {
	t.Helper()
	timer := time.NewTimer(s.h.Timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-timer.C:
		t.Fatalf("%s did not return within %v", what, s.h.Timeout)
		return nil, nil
	}
}

type collected struct {
	chunks []*messages.TokenChunk
	err    error // nil at io.EOF
}

// collect reads h to its end and closes it, failing the test when that
// takes longer than the timeout.
func (s *suite) collect(t *testing.T, h runners.RunHandle) ([]*messages.TokenChunk, error) {
	t.Helper()
	ch := make(chan collected, 1)
	go func() {
		chunks, err := runners.ReadAll(h)
		ch <- collected{chunks, err}
	}()
	timer := time.NewTimer(s.h.Timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return r.chunks, r.err
	case <-timer.C:
		h.Close()
		t.Fatalf("the stream did not end within %v", s.h.Timeout)
		return nil, nil
	}
}

// run executes b and reads the whole stream. An error from Execute is
// returned like an error from the stream, with no chunks.
func (s *suite) run(t *testing.T, r runners.ModelRunner, ctx context.Context, b *messages.ExecuteBatch) ([]*messages.TokenChunk, error) {
	t.Helper()
	h, err := r.Execute(ctx, b)
	if err != nil {
		if h != nil {
			t.Errorf("Execute returned both a handle and error %v", err)
			h.Close()
		}
		return nil, err
	}
	if h == nil {
		t.Fatal("Execute returned a nil handle and a nil error")
	}
	return s.collect(t, h)
}

// mustRun is run for a request that must succeed; it checks the stream's
// shape and returns its chunks.
func (s *suite) mustRun(t *testing.T, r runners.ModelRunner, b *messages.ExecuteBatch) []*messages.TokenChunk {
	t.Helper()
	chunks, err := s.run(t, r, context.Background(), b)
	if err != nil {
		t.Fatalf("request (stream=%v, max_tokens=%d) failed: %v", b.GetStream(), b.GetSampling().GetMaxTokens(), err)
	}
	checkShape(t, chunks)
	return chunks
}

// checkShape checks a successful stream: at least one chunk, a finish
// reason and usage on the last chunk only.
func checkShape(t *testing.T, chunks []*messages.TokenChunk) {
	t.Helper()
	if len(chunks) == 0 {
		t.Fatal("stream ended with io.EOF after no chunk, want at least the last chunk")
	}
	for i, c := range chunks[:len(chunks)-1] {
		if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
			t.Errorf("chunk %d of %d finish_reason = %v, want unspecified before the last chunk", i, len(chunks), c.GetFinishReason())
		}
	}
	last := chunks[len(chunks)-1]
	if last.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		t.Errorf("last chunk finish_reason = unspecified, want a finish reason")
	}
	u := last.GetUsage()
	if u == nil {
		t.Fatalf("last chunk usage = nil, want usage")
	}
	if u.GetInputTokens() <= 0 {
		t.Errorf("last chunk usage.input_tokens = %d, want > 0", u.GetInputTokens())
	}
	if text(chunks) != "" && u.GetOutputTokens() <= 0 {
		t.Errorf("last chunk usage.output_tokens = %d for text %q, want > 0", u.GetOutputTokens(), text(chunks))
	}
	if last.GetCostUsd() < 0 {
		t.Errorf("last chunk cost_usd = %g, want >= 0", last.GetCostUsd())
	}
}

// text concatenates the chunks' text.
func text(chunks []*messages.TokenChunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.GetText())
	}
	return b.String()
}

// typed fails the test unless err is a typed runner error and returns it as
// a *messages.Error.
func typed(t *testing.T, err error) *messages.Error {
	t.Helper()
	var e *messages.Error
	var sf *runners.SessionFault
	if !errors.As(err, &e) && !errors.As(err, &sf) {
		t.Errorf("error %v (%T) is neither a *messages.Error nor a *runners.SessionFault", err, err)
	}
	return runners.AsError(err)
}

// failed fails the test unless the request ended with an error (not io.EOF)
// and returns it.
func failed(t *testing.T, what string, chunks []*messages.TokenChunk, err error) error {
	t.Helper()
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("%s: stream ended cleanly with %d chunks (%q), want an error", what, len(chunks), text(chunks))
	}
	return err
}

// settle waits until the goroutine count is back to at most baseline and
// the instance reports nothing in flight, failing the test with a goroutine
// dump when that does not happen within the timeout.
func (s *suite) settle(t *testing.T, in *Instance, baseline int) {
	t.Helper()
	ok := func() bool {
		return runtime.NumGoroutine() <= baseline && (in.InFlight == nil || in.InFlight() == 0)
	}
	deadline := time.NewTimer(s.h.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline.C:
			if ok() {
				return
			}
			var dump strings.Builder
			pprof.Lookup("goroutine").WriteTo(&dump, 1)
			inFlight := -1
			if in.InFlight != nil {
				inFlight = in.InFlight()
			}
			t.Fatalf("after %v: NumGoroutine() = %d, want <= %d; InFlight() = %d, want 0 (-1: not reported)\n%s",
				s.h.Timeout, runtime.NumGoroutine(), baseline, inFlight, dump.String())
		}
	}
}

// expiring is a context whose deadline the suite expires by hand, so that
// deadline checks never wait for the wall clock.
type expiring struct {
	context.Context
	done chan struct{}
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (e *expiring) expire() { close(e.done) }

// Deadline reports a deadline far away: the test expires it by hand.
func (e *expiring) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }

func (e *expiring) Done() <-chan struct{} { return e.done }

func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// deadline returns a channel that fires after d.
func deadline(d time.Duration) <-chan time.Time { return time.After(d) }
