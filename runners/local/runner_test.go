package local

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func newStoriesRunner(t *testing.T, cfg Config) *Runner {
	t.Helper()
	dir := sharedModels(t)
	if cfg.ModelPath == "" {
		cfg.ModelPath = filepath.Join(dir, "stories260K.bin")
		cfg.TokenizerPath = filepath.Join(dir, "tok512.bin")
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func userBatch(text string, s *messages.Sampling) *messages.ExecuteBatch {
	return &messages.ExecuteBatch{
		RequestId: "req-1",
		Messages:  []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: text}},
		Sampling:  s,
	}
}

func greedy(maxTokens int32, stop ...string) *messages.Sampling {
	zero := float32(0)
	return &messages.Sampling{Temperature: &zero, MaxTokens: maxTokens, Stop: stop}
}

// collect reads a whole stream and checks its framing: one chunk per
// token, sequence numbers in order, finish reason and usage on the last.
func collect(t *testing.T, h runners.RunHandle) (string, *messages.TokenChunk, int) {
	t.Helper()
	chunks, err := runners.ReadAll(h)
	if err != nil {
		t.Fatalf("stream error: %v", err)
	}
	if len(chunks) == 0 {
		t.Fatal("empty stream")
	}
	var b strings.Builder
	for i, c := range chunks {
		if c.GetSeq() != uint32(i) {
			t.Errorf("chunk %d has seq %d", i, c.GetSeq())
		}
		if last := i == len(chunks)-1; last != (c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED) {
			t.Errorf("chunk %d of %d: finish reason %v", i, len(chunks), c.GetFinishReason())
		}
		b.WriteString(c.GetText())
	}
	return b.String(), chunks[len(chunks)-1], len(chunks)
}

func TestRunnerGoldens(t *testing.T) {
	r := newStoriesRunner(t, Config{Threads: 2})
	dir := sharedModels(t)
	tok, _ := r.Tokenizer()
	ctx := context.Background()

	// run.c -n 64 counts the prompt's positions: 64 - (prompt tokens - 1) generated.
	const prompt = "Once upon a time"
	n := 64 - (len(tok.Encode(prompt, true, false)) - 1)
	h, err := r.Execute(ctx, userBatch(prompt, greedy(int32(n))))
	if err != nil {
		t.Fatal(err)
	}
	text, last, chunks := collect(t, h)
	want := strings.TrimSuffix(readGolden(t, dir, "stories260K.greedy64.onceuponatime.txt"), "\n")
	if prompt+text != want {
		t.Errorf("Execute(%q) text =\n%q\nwant\n%q", prompt, prompt+text, want)
	}
	if chunks != n || last.GetFinishReason() != messages.FinishReason_FINISH_REASON_LENGTH {
		t.Errorf("got %d chunks ending %v, want %d ending length", chunks, last.GetFinishReason(), n)
	}
	if u := last.GetUsage(); u.GetInputTokens() != int64(65-n) || u.GetOutputTokens() != int64(n) {
		t.Errorf("usage = %v, want input %d output %d", u, 65-n, n)
	}

	// An empty user message is BOS alone, as run.c without -i.
	h, err = r.Execute(ctx, userBatch("", greedy(256)))
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ = collect(t, h)
	if want := strings.TrimSuffix(readGolden(t, dir, "stories260K.greedy256.noprompt.txt"), "\n"); text != want {
		t.Errorf("Execute(\"\") text =\n%q\nwant\n%q", text, want)
	}
}

func TestRunnerGGUFGolden(t *testing.T) {
	dir := sharedModels(t)
	r := newStoriesRunner(t, Config{ModelPath: filepath.Join(dir, "stories260K.gguf")})
	h, err := r.Execute(context.Background(), userBatch("Once upon a time", greedy(64)))
	if err != nil {
		t.Fatal(err)
	}
	text, _, n := collect(t, h)
	want := strings.TrimPrefix(strings.TrimRight(readGolden(t, dir, "stories260K.gguf.llamacpp.greedy64.onceuponatime.txt"), "\n"), " Once upon a time")
	if text != want || n != 64 {
		t.Errorf("GGUF Execute = %d chunks %q, want 64 %q", n, text, want)
	}
}

// TestRunnerConcurrentBatching: requests decoded together give exactly what
// each gives alone.
func TestRunnerConcurrentBatching(t *testing.T) {
	r := newStoriesRunner(t, Config{Threads: 2, MaxBatch: 4})
	prompts := []string{"Once upon a time", "Lily", "The dog", "Tom and Sue went", "One day", "", "Sam had a ball", "The sun"}
	run := func(p string) string {
		h, err := r.Execute(context.Background(), userBatch(p, greedy(40)))
		if err != nil {
			t.Error(err)
			return ""
		}
		text, _, _ := collect(t, h)
		return text
	}
	alone := make([]string, len(prompts))
	for i, p := range prompts {
		alone[i] = run(p)
	}
	together := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() { together[i] = run(p) })
	}
	wg.Wait()
	for i := range prompts {
		if together[i] != alone[i] {
			t.Errorf("prompt %q: concurrent %q, alone %q", prompts[i], together[i], alone[i])
		}
	}
}

func TestRunnerStopAndLimits(t *testing.T) {
	r := newStoriesRunner(t, Config{ContextLength: 24})
	ctx := context.Background()
	h, err := r.Execute(ctx, userBatch("Once upon a time", greedy(0, "Lily", "zzz")))
	if err != nil {
		t.Fatal(err)
	}
	text, last, _ := collect(t, h)
	if text != ", there was a little girl named " || last.GetFinishReason() != messages.FinishReason_FINISH_REASON_STOP {
		t.Errorf("stop \"Lily\": %q (%v)", text, last.GetFinishReason())
	}
	// No max_tokens: generation runs to the end of the 24-position context.
	h, err = r.Execute(ctx, userBatch("Once upon a time", greedy(0)))
	if err != nil {
		t.Fatal(err)
	}
	_, last, n := collect(t, h)
	if n != 24-5+1 || last.GetFinishReason() != messages.FinishReason_FINISH_REASON_LENGTH {
		t.Errorf("context end: %d tokens (%v), want %d length", n, last.GetFinishReason(), 24-5+1)
	}
	// A prompt longer than the context is refused before anything runs.
	_, err = r.Execute(ctx, userBatch(strings.Repeat("Once upon a time ", 10), greedy(1)))
	var me *messages.Error
	if !errors.As(err, &me) || me.GetCode() != runners.CodeContextLengthExceeded {
		t.Errorf("long prompt: err = %v, want context_length_exceeded", err)
	}
	// Bad requests.
	for _, b := range []*messages.ExecuteBatch{
		{Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_SYSTEM, Content: "x"}}},
		userBatch("x", &messages.Sampling{MaxTokens: -1}),
		userBatch("x", &messages.Sampling{TopP: ptr(float32(2))}),
		userBatch("x", &messages.Sampling{PresencePenalty: ptr(float32(3))}),
	} {
		if _, err := r.Execute(ctx, b); !errors.Is(err, &messages.Error{Code: runners.CodeBadRequest}) {
			t.Errorf("Execute(%v) err = %v, want bad_request", b, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestRunnerSampling(t *testing.T) {
	r := newStoriesRunner(t, Config{})
	run := func(s *messages.Sampling) string {
		h, err := r.Execute(context.Background(), userBatch("Once upon a time", s))
		if err != nil {
			t.Fatal(err)
		}
		text, _, _ := collect(t, h)
		return text
	}
	for _, s := range []*messages.Sampling{
		{Temperature: ptr(float32(1)), Seed: ptr(int64(42)), MaxTokens: 40},
		{Temperature: ptr(float32(0.8)), TopP: ptr(float32(0.9)), Seed: ptr(int64(7)), MaxTokens: 40},
		{Temperature: ptr(float32(1.2)), TopK: ptr(int32(5)), Seed: ptr(int64(7)), MaxTokens: 40},
		{Temperature: ptr(float32(1)), TopK: ptr(int32(20)), TopP: ptr(float32(0.5)), Seed: ptr(int64(1)), MaxTokens: 40},
	} {
		a, b := run(s), run(s)
		if a != b {
			t.Errorf("sampling %v with a seed is not deterministic: %q vs %q", s, a, b)
		}
	}
	// A strong frequency penalty changes greedy output (repetition is
	// penalised); zero penalties leave it alone.
	plain := run(greedy(60))
	pen := greedy(60)
	pen.FrequencyPenalty = ptr(float32(2))
	if run(pen) == plain {
		t.Errorf("frequency_penalty 2 did not change the greedy text %q", plain)
	}
	zero := greedy(60)
	zero.PresencePenalty, zero.FrequencyPenalty = ptr(float32(0)), ptr(float32(0))
	if got := run(zero); got != plain {
		t.Errorf("zero penalties changed the text: %q vs %q", got, plain)
	}
	// top_k 1 is greedy.
	if a, b := run(&messages.Sampling{Temperature: ptr(float32(1)), TopK: ptr(int32(1)), MaxTokens: 30}), run(greedy(30)); a != b {
		t.Errorf("top_k=1 %q != greedy %q", a, b)
	}
}

func TestRunnerCancel(t *testing.T) {
	r := newStoriesRunner(t, Config{})
	// Hold the stream after its second chunk, so the cancellation surely
	// lands mid-stream; other sequences keep decoding meanwhile.
	release := r.stallForTest(2)
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := r.Execute(ctx, userBatch("Once upon a time", greedy(0)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Recv(); err != nil {
		t.Fatal(err)
	}
	// Another request decodes beside the held one (two tokens: it ends
	// before the hook would hold it).
	other, err := r.Execute(context.Background(), userBatch("Lily", greedy(2)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, n := collect(t, other); n != 2 {
		t.Errorf("a request decoded beside a held one: %d chunks, want 2", n)
	}
	cancel()
	for {
		c, err := h.Recv()
		if err == nil {
			if c.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
				t.Fatalf("stream completed after cancel: %v", c)
			}
			continue
		}
		if !errors.Is(err, runners.ErrCancelled) {
			t.Fatalf("Recv after cancel = %v, want cancelled", err)
		}
		break
	}
	release()
	// Closing the handle also stops generation; the runner keeps serving.
	h2, err := r.Execute(context.Background(), userBatch("Lily", greedy(0)))
	if err != nil {
		t.Fatal(err)
	}
	h2.Recv()
	h2.Close()
	h3, err := r.Execute(context.Background(), userBatch("Lily", greedy(5)))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, n := collect(t, h3); n != 5 {
		t.Errorf("after cancellations: %d chunks, want 5", n)
	}
}

func TestRunnerReload(t *testing.T) {
	dir := sharedModels(t)
	r := newStoriesRunner(t, Config{})
	ctx := context.Background()
	if r.RuntimeKind() != runners.RuntimeLocal || r.TransportKind() != runners.TransportLocalCPU() ||
		r.RateLimits() != nil || r.EstimateCostUSD(userBatch("x", nil)) != 0 || r.GILPinned() {
		t.Error("kinds/defaults are not those of a local CPU runner")
	}
	// A stream started before the reload finishes on the old weights.
	h, err := r.Execute(ctx, userBatch("Once upon a time", greedy(30)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadWeights(ctx, runners.CudaContextHandle{}, runners.WeightSource{Kind: runners.LocalPath, Path: filepath.Join(dir, "stories260K.gguf")}); err != nil {
		t.Fatal(err)
	}
	if _, _, n := collect(t, h); n != 30 {
		t.Errorf("stream across reload: %d chunks, want 30", n)
	}
	if err := r.RebuildSession(ctx, runners.Manual); err != nil {
		t.Fatal(err)
	}
	h, err = r.Execute(ctx, userBatch("Once upon a time", greedy(10)))
	if err != nil {
		t.Fatal(err)
	}
	if text, _, _ := collect(t, h); !strings.HasPrefix(text, ", there was") {
		t.Errorf("after rebuild: %q", text)
	}
	err = r.LoadWeights(ctx, runners.CudaContextHandle{}, runners.WeightSource{Kind: runners.HuggingFace, Repo: "x"})
	if !errors.Is(err, &messages.Error{Code: runners.CodeUnsupported}) {
		t.Errorf("LoadWeights(hf) = %v, want unsupported", err)
	}
	err = r.LoadWeights(ctx, runners.CudaContextHandle{}, runners.WeightSource{Kind: runners.LocalPath, Path: filepath.Join(dir, "PROVENANCE.txt")})
	if err == nil {
		t.Error("LoadWeights(a text file) succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{},
		{ModelPath: "m", Threads: -1},
		{ModelPath: "m", MaxBatch: 65},
		{ModelPath: "m", ContextLength: -1},
		{ModelPath: "m", ChatTemplate: "chatml"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	if err := (Config{ModelPath: "m", ChatTemplate: TemplateLlama2}).Validate(); err != nil {
		t.Error(err)
	}
	if _, err := New(Config{ModelPath: "/nonexistent/model.bin"}); err == nil {
		t.Error("New with a missing model succeeded")
	}
}

func TestSequenceEmit(t *testing.T) {
	// A character split over byte tokens is streamed once complete.
	s := &sequence{}
	var got []string
	for _, p := range []string{"a", "\xe2", "\x82", "\xac", "b"} {
		text, _ := s.emit([]byte(p))
		got = append(got, text)
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{"a", "", "", "€", "b"}) {
		t.Errorf("emit = %q", got)
	}
	// An incomplete character at the end is flushed as U+FFFD.
	s.emit([]byte("\xe2"))
	if f := s.flush(); f != "\uFFFD" {
		t.Errorf("flush = %q", f)
	}
	// Text that may begin a stop sequence is held back until decided.
	s = &sequence{stops: []string{"END"}}
	var out []string
	stopped := false
	for _, p := range []string{"x E", "N", "o", " EN", "D tail"} {
		var text string
		text, stopped = s.emit([]byte(p))
		out = append(out, text)
		if stopped {
			break
		}
	}
	if fmt.Sprint(out) != fmt.Sprint([]string{"x ", "", "ENo", " ", ""}) || !stopped {
		t.Errorf("emit with stop = %q (stopped %v)", out, stopped)
	}
}

func TestLlama2ChatTemplate(t *testing.T) {
	tok, err := LoadTokenizer(filepath.Join(sharedModels(t), "tokenizer.bin"), 32000)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*messages.ChatMessage{
		{Role: messages.Role_ROLE_SYSTEM, Content: "Be brief."},
		{Role: messages.Role_ROLE_USER, Content: "Hi"},
		{Role: messages.Role_ROLE_ASSISTANT, Content: "Hello."},
		{Role: messages.Role_ROLE_USER, Content: "Bye"},
	}
	got, err := promptTokens(tok, TemplateLlama2, msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := append(tok.Encode("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. ", true, true),
		tok.Encode("[INST] Bye [/INST]", true, false)...)
	if !equalInts(got, want) {
		t.Errorf("llama2 template = %v, want %v", got, want)
	}
	if got := tok.DecodeAll(got); !strings.Contains(got, "[INST] <<SYS>>\nBe brief.") {
		t.Errorf("decoded template = %q", got)
	}
	if _, err := promptTokens(tok, TemplateLlama2, msgs[:3]); err == nil {
		t.Error("template accepted a conversation ending with the assistant")
	}
	// Base models continue the last user message verbatim.
	got, _ = promptTokens(tok, TemplateNone, msgs)
	if !equalInts(got, tok.Encode("Bye", true, false)) {
		t.Errorf("none template = %v", got)
	}
}
