package fake_test

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/internal/clock"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

const waitFor = 10 * time.Second

func user(text string) *messages.ChatMessage {
	return &messages.ChatMessage{Role: messages.Role_ROLE_USER, Content: text}
}

func batch(stream bool, max int32, stop []string, msgs ...*messages.ChatMessage) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{RequestId: "req-1", Model: "m", Messages: msgs, Stream: stream,
		Sampling: &messages.Sampling{MaxTokens: max, Stop: stop}}
}

func texts(chunks []*messages.TokenChunk) []string {
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = c.GetText()
	}
	return out
}

// run executes b on r and reads the whole stream.
func run(t *testing.T, r runners.ModelRunner, b *messages.ExecuteBatch) ([]*messages.TokenChunk, error) {
	t.Helper()
	h, err := r.Execute(context.Background(), b)
	if err != nil {
		return nil, err
	}
	return runners.ReadAll(h)
}

func TestAnswers(t *testing.T) {
	sys := &messages.ChatMessage{Role: messages.Role_ROLE_SYSTEM, Content: "be brief"}
	parts := &messages.ChatMessage{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
		{Part: &messages.ContentPart_Text{Text: "look at "}},
		{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "https://x/y.png"}}},
		{Part: &messages.ContentPart_Text{Text: "this"}},
	}}
	assistant := &messages.ChatMessage{Role: messages.Role_ROLE_ASSISTANT, Content: "said before"}
	stop, length := messages.FinishReason_FINISH_REASON_STOP, messages.FinishReason_FINISH_REASON_LENGTH
	tests := []struct {
		name       string
		b          *messages.ExecuteBatch
		opts       []fake.Option
		want       []string
		finish     messages.FinishReason
		in, out    int64
		wantModel  string
		wantSeqEnd uint32
	}{
		{name: "stream echo", b: batch(true, 0, nil, user("hello brave new world")),
			want: []string{"hello", " brave", " new", " world"}, finish: stop, in: 4, out: 4},
		{name: "unary echo", b: batch(false, 0, nil, user("hello brave new world")),
			want: []string{"hello brave new world"}, finish: stop, in: 4, out: 4},
		{name: "max tokens cuts", b: batch(true, 2, nil, user("hello brave new world")),
			want: []string{"hello", " brave"}, finish: length, in: 4, out: 2},
		{name: "unary max tokens", b: batch(false, 3, nil, user("hello brave new world")),
			want: []string{"hello brave new"}, finish: length, in: 4, out: 3},
		{name: "max tokens exact", b: batch(true, 4, nil, user("hello brave new world")),
			want: []string{"hello", " brave", " new", " world"}, finish: stop, in: 4, out: 4},
		{name: "stop sequence", b: batch(true, 0, []string{"zzz", "new"}, user("hello brave new world")),
			want: []string{"hello", " brave", " "}, finish: stop, in: 4, out: 3},
		{name: "stop inside word", b: batch(true, 0, []string{"av"}, user("hello brave new world")),
			want: []string{"hello", " br"}, finish: stop, in: 4, out: 2},
		{name: "stop before max", b: batch(true, 2, []string{"new"}, user("hello brave new world")),
			want: []string{"hello", " brave"}, finish: length, in: 4, out: 2},
		{name: "stop at start", b: batch(true, 0, []string{"hello"}, user("hello brave")),
			want: []string{""}, finish: stop, in: 2, out: 0},
		{name: "empty prompt", b: batch(true, 0, nil, user("  ")),
			want: []string{""}, finish: stop, in: 0, out: 0},
		{name: "whitespace kept between words", b: batch(true, 0, nil, user("  a\n b  ")),
			want: []string{"a", "\n b"}, finish: stop, in: 2, out: 2},
		{name: "last user message, all input", b: batch(true, 0, nil, sys, user("first ask"), assistant, user("second")),
			want: []string{"second"}, finish: stop, in: 7, out: 1},
		{name: "content parts", b: batch(true, 0, nil, parts),
			want: []string{"look", " at", " this"}, finish: stop, in: 3, out: 3},
		{name: "no user message", b: batch(true, 0, nil, sys),
			want: []string{"be", " brief"}, finish: stop, in: 2, out: 2},
		{name: "default max tokens", b: batch(true, 0, nil, user("a b c d")), opts: []fake.Option{fake.WithDefaultMaxTokens(3)},
			want: []string{"a", " b", " c"}, finish: length, in: 4, out: 3},
		{name: "custom reply", b: batch(true, 0, nil, user("ignored")),
			opts: []fake.Option{fake.WithReply(func(*messages.ExecuteBatch) string { return "fixed answer" })},
			want: []string{"fixed", " answer"}, finish: stop, in: 1, out: 2},
		{name: "model option", b: batch(false, 0, nil, user("x")), opts: []fake.Option{fake.WithModel("fake-1")},
			want: []string{"x"}, finish: stop, in: 1, out: 1, wantModel: "fake-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New(tt.opts...)
			chunks, err := run(t, r, tt.b)
			if err != nil {
				t.Fatalf("ReadAll(Execute) error = %v, want nil", err)
			}
			if got := texts(chunks); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("chunk texts = %q, want %q", got, tt.want)
			}
			for i, c := range chunks {
				if c.GetSeq() != uint32(i) || c.GetRequestId() != "req-1" {
					t.Errorf("chunk %d seq, request id = %d, %q, want %d, req-1", i, c.GetSeq(), c.GetRequestId(), i)
				}
				if i < len(chunks)-1 && (c.GetFinishReason() != 0 || c.GetUsage() != nil) {
					t.Errorf("chunk %d finish, usage = %v, %v, want none before the last", i, c.GetFinishReason(), c.GetUsage())
				}
			}
			last := chunks[len(chunks)-1]
			if last.GetFinishReason() != tt.finish {
				t.Errorf("last finish_reason = %v, want %v", last.GetFinishReason(), tt.finish)
			}
			if u := last.GetUsage(); u.GetInputTokens() != tt.in || u.GetOutputTokens() != tt.out {
				t.Errorf("usage = %d in / %d out, want %d / %d", u.GetInputTokens(), u.GetOutputTokens(), tt.in, tt.out)
			}
			wantModel := tt.wantModel
			if wantModel == "" {
				wantModel = "m"
			}
			if last.GetModel() != wantModel {
				t.Errorf("last model = %q, want %q", last.GetModel(), wantModel)
			}
			if r.InFlight() != 0 || r.Open() != 0 {
				t.Errorf("InFlight, Open after ReadAll = %d, %d, want 0, 0", r.InFlight(), r.Open())
			}
		})
	}
}

func TestExecuteRejects(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		b    *messages.ExecuteBatch
		want runners.Code
	}{
		{"nil batch", context.Background(), nil, runners.CodeBadRequest},
		{"negative max_tokens", context.Background(), batch(true, -1, nil, user("a")), runners.CodeBadRequest},
		{"cancelled", cancelled, batch(true, 0, nil, user("a")), runners.CodeCancelled},
		{"deadline", expired, batch(true, 0, nil, user("a")), runners.CodeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New()
			h, err := r.Execute(tt.ctx, tt.b)
			if h != nil {
				t.Errorf("Execute handle = %v, want nil", h)
			}
			if got := runners.AsError(err).GetCode(); got != tt.want {
				t.Errorf("Execute error code = %v, want %v (err %v)", got, tt.want, err)
			}
			if r.Executes() != 1 || r.Open() != 0 || r.InFlight() != 0 {
				t.Errorf("Executes, Open, InFlight = %d, %d, %d, want 1, 0, 0", r.Executes(), r.Open(), r.InFlight())
			}
		})
	}
}

func TestKindsAndLimits(t *testing.T) {
	r := fake.New()
	if r.RuntimeKind() != runners.RuntimeFake || r.TransportKind() != runners.TransportLocalCPU() {
		t.Errorf("New() kinds = %q, %v, want fake, local_cpu", r.RuntimeKind(), r.TransportKind())
	}
	if r.RateLimits() != nil || r.GILPinned() {
		t.Errorf("New() RateLimits, GILPinned = %v, %v, want nil, false", r.RateLimits(), r.GILPinned())
	}
	if err := r.LoadWeights(context.Background(), runners.CudaContextHandle{}, runners.WeightSource{}); err != nil {
		t.Errorf("LoadWeights = %v, want nil", err)
	}
	remote := runners.TransportRemote(runners.ProviderOpenAI)
	lim := runners.RateLimits{RequestsPerMinute: 60, TokensPerMinute: 1000, ConcurrentRequests: 2}
	r = fake.New(fake.WithRuntimeKind(runners.RuntimeOpenAI), fake.WithTransportKind(remote), fake.WithRateLimits(lim))
	if r.RuntimeKind() != runners.RuntimeOpenAI || r.TransportKind() != remote {
		t.Errorf("kinds = %q, %v, want openai, %v", r.RuntimeKind(), r.TransportKind(), remote)
	}
	got := r.RateLimits()
	if got == nil || *got != lim {
		t.Fatalf("RateLimits() = %v, want %v", got, lim)
	}
	got.RequestsPerMinute = 1
	if r.RateLimits().RequestsPerMinute != 60 {
		t.Errorf("RateLimits() shares its value with callers")
	}
}

func TestCost(t *testing.T) {
	prompt := user("one two three four five six seven eight nine ten")
	tests := []struct {
		name     string
		opts     []fake.Option
		b        *messages.ExecuteBatch
		estimate float64
		cost     float64
		unknown  bool
	}{
		{name: "free", b: batch(true, 4, nil, prompt)},
		{name: "priced, cut by max", opts: []fake.Option{fake.WithPrice(1, 2)}, b: batch(true, 4, nil, prompt),
			estimate: (10*1 + 4*2) / 1e6, cost: (10*1 + 4*2) / 1e6},
		{name: "priced, shorter than max", opts: []fake.Option{fake.WithPrice(1, 2)}, b: batch(false, 100, nil, prompt),
			estimate: (10*1 + 100*2) / 1e6, cost: (10*1 + 10*2) / 1e6},
		{name: "priced, default max", opts: []fake.Option{fake.WithPrice(3, 5), fake.WithDefaultMaxTokens(20)},
			b: batch(true, 0, nil, prompt), estimate: (10*3 + 20*5) / 1e6, cost: (10*3 + 10*5) / 1e6},
		{name: "unknown", opts: []fake.Option{fake.WithUnknownPrice()}, b: batch(true, 0, nil, prompt),
			estimate: -1, unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fake.New(tt.opts...)
			if got := r.EstimateCostUSD(tt.b); math.Abs(got-tt.estimate) > 1e-15 {
				t.Errorf("EstimateCostUSD = %g, want %g", got, tt.estimate)
			}
			chunks, err := run(t, r, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			last := chunks[len(chunks)-1]
			if math.Abs(last.GetCostUsd()-tt.cost) > 1e-15 || last.GetCostUnknown() != tt.unknown {
				t.Errorf("last cost, unknown = %g, %v, want %g, %v", last.GetCostUsd(), last.GetCostUnknown(), tt.cost, tt.unknown)
			}
		})
	}
}

// expiring is a context the test expires by hand with DeadlineExceeded.
type expiring struct {
	context.Context
	done chan struct{}
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (e *expiring) expire()               { close(e.done) }
func (e *expiring) Done() <-chan struct{} { return e.done }
func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

type result struct {
	c   *messages.TokenChunk
	err error
}

// recvAsync calls h.Recv on its own goroutine.
func recvAsync(h runners.RunHandle) <-chan result {
	ch := make(chan result, 1)
	go func() {
		c, err := h.Recv()
		ch <- result{c, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitFor):
		t.Fatalf("Recv did not return within %v", waitFor)
		return result{}
	}
}

func TestTokenDelay(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	r := fake.New(fake.WithTokenDelay(time.Second), fake.WithClock(clk))
	h, err := r.Execute(context.Background(), batch(true, 0, nil, user("a b")))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i, want := range []string{"a", " b"} {
		if !clk.WaitForTimers(1, time.After(waitFor)) {
			t.Fatalf("token %d: no delay timer armed", i)
		}
		ch := recvAsync(h)
		select {
		case res := <-ch:
			t.Fatalf("token %d: Recv = %v, %v before the delay elapsed", i, res.c, res.err)
		default:
		}
		clk.Advance(time.Second)
		res := await(t, ch)
		if res.err != nil || res.c.GetText() != want {
			t.Fatalf("token %d: Recv = %q, %v, want %q, nil", i, res.c.GetText(), res.err, want)
		}
	}
	if res := await(t, recvAsync(h)); !errors.Is(res.err, io.EOF) {
		t.Fatalf("Recv after last = %v, want io.EOF", res.err)
	}
	if got := clk.Now(); !got.Equal(time.Unix(2, 0)) {
		t.Errorf("fake time after two tokens = %v, want 2s", got)
	}
}

func TestCancelStopsAtNextToken(t *testing.T) {
	tests := []struct {
		name    string
		delayed bool
		expire  bool // deadline instead of cancel
		want    runners.Code
	}{
		{"inline cancel", false, false, runners.CodeCancelled},
		{"inline deadline", false, true, runners.CodeTimeout},
		{"delayed cancel", true, false, runners.CodeCancelled},
		{"delayed deadline", true, true, runners.CodeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(time.Unix(0, 0))
			var opts []fake.Option
			if tt.delayed {
				opts = append(opts, fake.WithTokenDelay(time.Second), fake.WithClock(clk))
			}
			r := fake.New(opts...)
			exp := newExpiring()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.expire {
				ctx = exp
			}
			h, err := r.Execute(ctx, batch(true, 0, nil, user("a b c d")))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if tt.delayed {
				clk.WaitForTimers(1, time.After(waitFor))
				clk.Advance(time.Second)
			}
			if res := await(t, recvAsync(h)); res.err != nil {
				t.Fatalf("first Recv error = %v", res.err)
			}
			if tt.expire {
				exp.expire()
			} else {
				cancel()
			}
			res := await(t, recvAsync(h))
			e := runners.AsError(res.err)
			if e.GetCode() != tt.want || !e.GetAfterFirstChunk() {
				t.Fatalf("Recv after cancel = %v, %v, want %v after first chunk", res.c, res.err, tt.want)
			}
			if res := await(t, recvAsync(h)); runners.AsError(res.err).GetCode() != tt.want {
				t.Errorf("Recv after end = %v, want %v again", res.err, tt.want)
			}
			if h.Close() != nil || h.Close() != nil {
				t.Errorf("Close twice returned an error")
			}
			if !waitUntil(func() bool { return r.InFlight() == 0 && r.Open() == 0 }) {
				t.Errorf("InFlight, Open = %d, %d, want 0, 0", r.InFlight(), r.Open())
			}
		})
	}
}

// waitUntil polls cond until it holds or waitFor passes.
func waitUntil(cond func() bool) bool {
	deadline := time.After(waitFor)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return cond()
		}
	}
	return true
}

func TestCloseReleasesProducer(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	r := fake.New(fake.WithTokenDelay(time.Second), fake.WithClock(clk))
	h, err := r.Execute(context.Background(), batch(true, 0, nil, user("a b c")))
	if err != nil {
		t.Fatal(err)
	}
	clk.WaitForTimers(1, time.After(waitFor))
	if r.InFlight() != 1 || r.Open() != 1 {
		t.Fatalf("InFlight, Open while waiting = %d, %d, want 1, 1", r.InFlight(), r.Open())
	}
	ch := recvAsync(h)
	h.Close()
	if res := await(t, ch); runners.AsError(res.err).GetCode() != runners.CodeCancelled {
		t.Errorf("Recv blocked across Close = %v, %v, want cancelled", res.c, res.err)
	}
	if !waitUntil(func() bool { return r.InFlight() == 0 }) || r.Open() != 0 {
		t.Errorf("InFlight, Open after Close = %d, %d, want 0, 0", r.InFlight(), r.Open())
	}
	if clk.Pending() != 0 {
		t.Errorf("Pending timers after Close = %d, want 0", clk.Pending())
	}
}
