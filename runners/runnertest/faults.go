package runnertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func (s *suite) rateLimited(t *testing.T) {
	in := s.instance(t)
	if in.RateLimitNext == nil {
		t.Skip("Instance.RateLimitNext is nil")
	}
	in.RateLimitNext(1500 * time.Millisecond)
	chunks, err := s.run(t, in.Runner, context.Background(), s.batch(true, s.h.ReplyTokens))
	err = failed(t, "rate-limited request", chunks, err)
	if len(chunks) != 0 {
		t.Errorf("rate-limited request sent %d chunks before failing, want 0", len(chunks))
	}
	e := typed(t, err)
	c := runners.Classify(err)
	if c.Code != runners.CodeRateLimited || !c.Retryable || c.SessionFault {
		t.Errorf("Classify(%v) = %+v, want rate_limited, retryable, no session fault", err, c)
	}
	if e.RetryAfter() <= 0 {
		t.Errorf("AsError(%v).RetryAfter() = %v, want > 0", err, e.RetryAfter())
	}
	s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens))
}

func (s *suite) streamCut(t *testing.T) {
	in := s.instance(t)
	if in.CutNext == nil {
		t.Skip("Instance.CutNext is nil")
	}
	var full string
	if s.h.Deterministic {
		full = text(s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens)))
	}
	in.CutNext(2)
	chunks, err := s.run(t, in.Runner, context.Background(), s.batch(true, s.h.ReplyTokens))
	err = failed(t, "cut stream", chunks, err)
	if len(chunks) == 0 {
		t.Errorf("cut stream sent no chunk before its error, want the chunks before the cut")
	}
	for i, c := range chunks {
		if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED || c.GetUsage() != nil {
			t.Errorf("cut stream chunk %d carries finish_reason %v, usage %v: the stream looks complete", i, c.GetFinishReason(), c.GetUsage())
		}
	}
	typed(t, err)
	switch c := runners.Classify(err); c.Code {
	case runners.CodeNetwork, runners.CodeServerError, runners.CodeTimeout:
		if !c.Retryable || !c.Breaker || c.SessionFault {
			t.Errorf("Classify(%v) = %+v, want retryable, counted by the breaker", err, c)
		}
	default:
		t.Errorf("Classify(%v).Code = %v, want network, server_error or timeout", err, c.Code)
	}
	if s.h.Deterministic && !strings.HasPrefix(full, text(chunks)) {
		t.Errorf("text before the cut = %q, want a prefix of %q (no duplicated or altered text)", text(chunks), full)
	}
	if got := s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens)); s.h.Deterministic && text(got) != full {
		t.Errorf("text after the cut = %q, want %q", text(got), full)
	}
}

func (s *suite) sessionFaults(t *testing.T) {
	faults := s.h.New(t).SessionFaults
	if len(faults) == 0 {
		t.Skip("Instance.SessionFaults is empty")
	}
	for i := range faults {
		name := faults[i].Name
		if name == "" {
			name = faults[i].Cause.String()
		}
		t.Run(name, func(t *testing.T) {
			in := s.instance(t)
			f := in.SessionFaults[i]
			f.Inject()
			for attempt := 1; attempt <= 2; attempt++ { // the fault is sticky until the rebuild
				chunks, err := s.run(t, in.Runner, context.Background(), s.batch(true, s.h.ReplyTokens))
				err = failed(t, "request on a broken session", chunks, err)
				typed(t, err)
				if c := runners.Classify(err); !c.SessionFault || c.Cause != f.Cause {
					t.Fatalf("attempt %d: Classify(%v) = %+v, want a session fault with cause %v", attempt, err, c, f.Cause)
				}
			}
			if err := in.Runner.RebuildSession(context.Background(), f.Cause); err != nil {
				t.Fatalf("RebuildSession(%v) = %v, want nil", f.Cause, err)
			}
			s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens))
		})
	}
}

func (s *suite) rebuildHealthy(t *testing.T) {
	in := s.instance(t)
	s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens))
	if err := in.Runner.RebuildSession(context.Background(), runners.Manual); err != nil {
		t.Fatalf("RebuildSession(manual) on a healthy runner = %v, want nil", err)
	}
	s.mustRun(t, in.Runner, s.batch(true, s.h.ReplyTokens))
}

func (s *suite) rebuildFailure(t *testing.T) {
	in := s.instance(t)
	if in.FailRebuild == nil {
		t.Skip("Instance.FailRebuild is nil")
	}
	in.FailRebuild()
	err := in.Runner.RebuildSession(context.Background(), runners.Manual)
	if err == nil {
		t.Fatal("RebuildSession after FailRebuild = nil, want an error")
	}
	typed(t, err)
}

func (s *suite) cost(t *testing.T) {
	in := s.instance(t)
	local := in.Runner.TransportKind().Class != runners.RemoteNetwork
	for _, tc := range []struct {
		name   string
		stream bool
		max    int32
	}{
		{"stream", true, s.h.ReplyTokens},
		{"unary", false, s.h.ReplyTokens},
		{"max_tokens", true, s.h.MaxTokens},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.batch(tc.stream, tc.max)
			est := in.Runner.EstimateCostUSD(b)
			chunks := s.mustRun(t, in.Runner, b)
			last := chunks[len(chunks)-1]
			switch {
			case est < 0 || last.GetCostUnknown():
				t.Logf("price unknown (estimate %g, cost_unknown %v): nothing to compare", est, last.GetCostUnknown())
			case last.GetCostUsd() > est*(1+1e-9)+1e-15:
				t.Errorf("EstimateCostUSD = %g, below the reported cost %g", est, last.GetCostUsd())
			}
			if local && est == 0 && last.GetCostUsd() != 0 {
				t.Errorf("a free local runner reported cost %g, want 0", last.GetCostUsd())
			}
		})
	}
}
