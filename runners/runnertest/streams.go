package runnertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func (s *suite) kinds(t *testing.T) {
	r := s.instance(t).Runner
	rk, tk := r.RuntimeKind(), r.TransportKind()
	if rk == "" {
		t.Errorf("RuntimeKind() = %q, want non-empty", rk)
	}
	if r.RuntimeKind() != rk || r.TransportKind() != tk {
		t.Errorf("RuntimeKind(), TransportKind() changed between calls: %q, %v then %q, %v", rk, tk, r.RuntimeKind(), r.TransportKind())
	}
	switch tk.Class {
	case runners.LocalCPU, runners.LocalGPU:
		if tk.Provider != runners.ProviderNone {
			t.Errorf("TransportKind() = %+v: a local transport names provider %q, want none", tk, tk.Provider)
		}
		if tk.Role() != "gpu" {
			t.Errorf("TransportKind().Role() = %q, want gpu", tk.Role())
		}
	case runners.RemoteNetwork:
		if tk.Provider == runners.ProviderNone {
			t.Errorf("TransportKind() = %+v: remote transport without a provider", tk)
		}
		if tk.Role() != "egress" {
			t.Errorf("TransportKind().Role() = %q, want egress", tk.Role())
		}
	default:
		t.Errorf("TransportKind().Class = %v, want local_cpu, local_gpu or remote_network", tk.Class)
	}
	if r.GILPinned() {
		t.Errorf("GILPinned() = true, want false for a Go runner")
	}
	if l := r.RateLimits(); l != nil && (l.RequestsPerMinute < 0 || l.TokensPerMinute < 0 || l.ConcurrentRequests < 0) {
		t.Errorf("RateLimits() = %+v, want no negative limit", *l)
	}
}

func (s *suite) stream(t *testing.T) {
	r := s.instance(t).Runner
	b := s.batch(true, s.h.ReplyTokens)
	orig := proto.Clone(b)
	h, err := r.Execute(context.Background(), b)
	if err != nil {
		t.Fatalf("Execute(stream) = %v, want nil", err)
	}
	defer h.Close()
	var chunks []*messages.TokenChunk
	for {
		c, err := s.recv(t, h)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv after %d chunks = %v, want a chunk or io.EOF", len(chunks), err)
		}
		if c == nil {
			t.Fatalf("Recv after %d chunks = nil, nil, want a chunk", len(chunks))
		}
		chunks = append(chunks, c)
	}
	checkShape(t, chunks)
	if len(chunks) < 2 {
		t.Errorf("streamed %d chunk(s) for prompt %q, want several", len(chunks), s.h.Prompt)
	}
	if text(chunks) == "" {
		t.Errorf("streamed text is empty")
	}
	if _, err := s.recv(t, h); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after io.EOF = %v, want io.EOF again", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close after io.EOF = %v, want nil", err)
	}
	if !proto.Equal(orig, b) {
		t.Errorf("Execute modified its batch: %v, want %v", b, orig)
	}
}

func (s *suite) unary(t *testing.T) {
	r := s.instance(t).Runner
	chunks := s.mustRun(t, r, s.batch(false, s.h.ReplyTokens))
	if text(chunks) == "" {
		t.Errorf("unary text is empty")
	}
}

func (s *suite) streamMatchesUnary(t *testing.T) {
	if !s.h.Deterministic {
		t.Skip("runner is not deterministic")
	}
	r := s.instance(t).Runner
	streamed := s.mustRun(t, r, s.batch(true, s.h.ReplyTokens))
	unary := s.mustRun(t, r, s.batch(false, s.h.ReplyTokens))
	again := s.mustRun(t, r, s.batch(true, s.h.ReplyTokens))
	if got, want := text(unary), text(streamed); got != want {
		t.Errorf("unary text = %q, want the streamed text %q", got, want)
	}
	if got, want := text(again), text(streamed); got != want {
		t.Errorf("second streamed text = %q, want %q", got, want)
	}
	su, uu := streamed[len(streamed)-1].GetUsage(), unary[len(unary)-1].GetUsage()
	if su.GetInputTokens() != uu.GetInputTokens() || su.GetOutputTokens() != uu.GetOutputTokens() {
		t.Errorf("unary usage = %d in / %d out, want the streamed %d / %d",
			uu.GetInputTokens(), uu.GetOutputTokens(), su.GetInputTokens(), su.GetOutputTokens())
	}
}

func (s *suite) maxTokens(t *testing.T) {
	r := s.instance(t).Runner
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			chunks := s.mustRun(t, r, s.batch(stream, s.h.MaxTokens))
			last := chunks[len(chunks)-1]
			if got := last.GetFinishReason(); got != messages.FinishReason_FINISH_REASON_LENGTH {
				t.Errorf("finish_reason with max_tokens %d = %v, want length", s.h.MaxTokens, got)
			}
			if got := last.GetUsage().GetOutputTokens(); got > int64(s.h.MaxTokens) || got <= 0 {
				t.Errorf("usage.output_tokens with max_tokens %d = %d, want 1..%d", s.h.MaxTokens, got, s.h.MaxTokens)
			}
			if stream && len(chunks) > int(s.h.MaxTokens)+1 {
				t.Errorf("streamed %d chunks with max_tokens %d, want at most %d", len(chunks), s.h.MaxTokens, s.h.MaxTokens+1)
			}
		})
	}
}

func (s *suite) stop(t *testing.T) {
	if !s.h.Stop || !s.h.Deterministic {
		t.Skip("Harness.Stop and Harness.Deterministic are not both set")
	}
	r := s.instance(t).Runner
	ref := s.mustRun(t, r, s.batch(true, s.h.ReplyTokens))
	if len(ref) < 2 || strings.TrimSpace(ref[1].GetText()) == "" {
		t.Skipf("the reference stream %q has no second token to stop at", text(ref))
	}
	stop := strings.TrimSpace(ref[1].GetText())
	full := text(ref)
	want := full[:strings.Index(full, stop)]
	b := s.batch(true, s.h.ReplyTokens)
	b.Sampling.Stop = []string{stop}
	chunks := s.mustRun(t, r, b)
	if got := text(chunks); got != want {
		t.Errorf("text with stop %q = %q, want %q", stop, got, want)
	}
	if got := chunks[len(chunks)-1].GetFinishReason(); got != messages.FinishReason_FINISH_REASON_STOP {
		t.Errorf("finish_reason with stop %q = %v, want stop", stop, got)
	}
}

func (s *suite) cancelledBeforeExecute(t *testing.T) {
	r := s.instance(t).Runner
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	chunks, err := s.run(t, r, ctx, s.batch(true, s.h.ReplyTokens))
	err = failed(t, "Execute with a cancelled context", chunks, err)
	if got := typed(t, err).GetCode(); got != runners.CodeCancelled {
		t.Errorf("error with a cancelled context = %v (code %v), want cancelled", err, got)
	}
}

// stalled starts a streaming request that stalls after one chunk, reads
// that chunk and returns the handle; the stall is released at cleanup.
func (s *suite) stalled(t *testing.T, in *Instance, ctx context.Context) runners.RunHandle {
	t.Helper()
	if in.Stall == nil {
		t.Skip("Instance.Stall is nil")
	}
	release := in.Stall(1)
	t.Cleanup(release)
	h, err := in.Runner.Execute(ctx, s.batch(true, s.h.ReplyTokens))
	if err != nil {
		t.Fatalf("Execute = %v, want nil", err)
	}
	t.Cleanup(func() { h.Close() })
	c, err := s.recv(t, h)
	if err != nil {
		t.Fatalf("first Recv of a stream stalled after one chunk = %v, want a chunk", err)
	}
	if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		t.Fatalf("first chunk of a stalled stream is the last (finish_reason %v)", c.GetFinishReason())
	}
	return h
}

func (s *suite) cancelMidStream(t *testing.T) {
	in := s.instance(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := s.stalled(t, in, ctx)
	pending := s.recvAsync(h)
	cancel()
	c, err := s.await(t, pending, "Recv after cancel")
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Recv after cancel = %v, %v, want a cancelled error", c, err)
	}
	if got := typed(t, err).GetCode(); got != runners.CodeCancelled {
		t.Errorf("Recv after cancel = %v (code %v), want cancelled", err, got)
	}
	for i := 0; i < 2; i++ {
		if err := h.Close(); err != nil {
			t.Errorf("Close #%d after cancel = %v, want nil", i+1, err)
		}
	}
}

func (s *suite) deadlineMidStream(t *testing.T) {
	in := s.instance(t)
	ctx := newExpiring()
	h := s.stalled(t, in, ctx)
	pending := s.recvAsync(h)
	ctx.expire()
	c, err := s.await(t, pending, "Recv after the deadline")
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Recv after the deadline = %v, %v, want a timeout error", c, err)
	}
	if got := typed(t, err).GetCode(); got != runners.CodeTimeout {
		t.Errorf("Recv after the deadline = %v (code %v), want timeout", err, got)
	}
}

func (s *suite) closeUnblocksRecv(t *testing.T) {
	in := s.instance(t)
	h := s.stalled(t, in, context.Background())
	pending := s.recvAsync(h)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ { // Close is idempotent, and safe concurrently
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Close()
		}()
	}
	wg.Wait()
	c, err := s.await(t, pending, "Recv blocked across Close")
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("Recv blocked across Close = %v, %v, want an error: a closed stream must not look complete", c, err)
	}
	typed(t, err)
}

func (s *suite) closeBeforeDrain(t *testing.T) {
	for _, stalled := range []bool{false, true} {
		t.Run(map[bool]string{false: "unread", true: "stalled"}[stalled], func(t *testing.T) {
			in := s.instance(t)
			if stalled && in.Stall == nil {
				t.Skip("Instance.Stall is nil")
			}
			s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens)) // warm up lazily started workers and connections
			baseline := runtime.NumGoroutine()
			if stalled {
				h := s.stalled(t, in, context.Background())
				h.Close()
			} else {
				h, err := in.Runner.Execute(context.Background(), s.batch(true, s.h.ReplyTokens))
				if err != nil {
					t.Fatalf("Execute = %v, want nil", err)
				}
				if err := h.Close(); err != nil {
					t.Errorf("Close before reading = %v, want nil", err)
				}
			}
			s.settle(t, in, baseline)
		})
	}
}

func (s *suite) concurrent(t *testing.T) {
	in := s.instance(t)
	var ref string
	if s.h.Deterministic {
		ref = text(s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens)))
	}
	const workers, each = 4, 2
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b := s.batch((w+i)%2 == 0, s.h.ReplyTokens)
				h, err := in.Runner.Execute(context.Background(), b)
				if err != nil {
					errs <- fmt.Errorf("worker %d: Execute = %w", w, err)
					continue
				}
				chunks, err := runners.ReadAll(h)
				switch {
				case err != nil:
					errs <- fmt.Errorf("worker %d: stream = %w", w, err)
				case len(chunks) == 0 || chunks[len(chunks)-1].GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED:
					errs <- fmt.Errorf("worker %d: stream of %d chunks has no finish reason", w, len(chunks))
				case s.h.Deterministic && text(chunks) != ref:
					errs <- fmt.Errorf("worker %d: text = %q, want %q", w, text(chunks), ref)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-deadline(s.h.Timeout):
		t.Fatalf("%d concurrent requests did not finish within %v", workers*each, s.h.Timeout)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
