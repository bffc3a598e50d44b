package anthropic

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// sseEvent is one event of a recorded transcript.
type sseEvent struct{ name, data string }

// splitTranscript reads the event/data pairs of a recorded SSE transcript
// (single-line data fields, as the Messages API sends them).
func splitTranscript(t testing.TB, b []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event:"):
			cur.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			cur.data = strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
	if cur.data != "" {
		out = append(out, cur)
	}
	return out
}

// mapTranscript feeds a transcript to a streamState and returns its chunks
// and the error that ended it, if any.
func mapTranscript(t *testing.T, name string) ([]*messages.TokenChunk, *streamState, error) {
	t.Helper()
	var s streamState
	var out []*messages.TokenChunk
	for _, ev := range splitTranscript(t, readTestdata(t, name)) {
		c, err := s.event(ev.name, []byte(ev.data))
		if err != nil {
			return out, &s, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, &s, nil
}

func TestStreamMappingGolden(t *testing.T) {
	for _, name := range []string{"stream_text", "stream_tools", "stream_max_tokens"} {
		t.Run(name, func(t *testing.T) {
			chunks, s, err := mapTranscript(t, name+".sse")
			if err != nil {
				t.Fatalf("mapping = %v", err)
			}
			if !s.done {
				t.Fatal("message_stop not seen")
			}
			checkGolden(t, "mapped_"+name+".chunks.json", chunksJSON(t, chunks))
		})
	}
}

func TestStreamToolCallsAndUsage(t *testing.T) {
	chunks, _, err := mapTranscript(t, "stream_tools.sse")
	if err != nil {
		t.Fatal(err)
	}
	args := map[int32]string{}
	ids := map[int32]string{}
	var reasoning, text strings.Builder
	for _, c := range chunks {
		reasoning.WriteString(c.GetReasoning())
		text.WriteString(c.GetText())
		for _, d := range c.GetToolCalls() {
			args[d.GetIndex()] += d.GetArguments()
			if d.GetId() != "" {
				ids[d.GetIndex()] = d.GetId()
			}
		}
	}
	if got, want := args[0], `{"city": "San Francisco"}`; got != want {
		t.Errorf("tool 0 arguments = %q, want %q", got, want)
	}
	if got, want := args[1], `{}`; got != want {
		t.Errorf("tool 1 (no input) arguments = %q, want %q", got, want)
	}
	if ids[0] != "toolu_01T1x1fJ34qAmk2tNTrN7Up6" || ids[1] != "toolu_01VX8fZ3oYq8Dp7kTzGFpzpb" {
		t.Errorf("tool ids = %v", ids)
	}
	if got, want := reasoning.String(), "The user wants the weather; call get_weather."; got != want {
		t.Errorf("reasoning = %q, want %q", got, want)
	}
	if got, want := text.String(), "Let me check."; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	last := chunks[len(chunks)-1]
	if last.GetFinishReason() != messages.FinishReason_FINISH_REASON_TOOL_CALLS {
		t.Errorf("finish = %v, want tool_calls", last.GetFinishReason())
	}
	u := last.GetUsage()
	if u.GetInputTokens() != 472+2048 || u.GetCachedInputTokens() != 2048 || u.GetCacheWriteTokens() != 1024 || u.GetOutputTokens() != 89 {
		t.Errorf("usage = %v, want input 2520 (cached 2048), cache write 1024, output 89", u)
	}
}

func TestStreamErrorEvent(t *testing.T) {
	chunks, _, err := mapTranscript(t, "stream_overloaded.sse")
	if len(chunks) != 0 {
		t.Errorf("chunks before the error = %d, want 0", len(chunks))
	}
	var e *messages.Error
	if !errors.As(err, &e) || e.GetCode() != runners.CodeServerError {
		t.Fatalf("error = %v, want server_error", err)
	}
	if c := runners.Classify(err); !c.Retryable {
		t.Errorf("Classify(overloaded) = %+v, want retryable", c)
	}
}

func TestStreamMalformed(t *testing.T) {
	start := `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":1}}}`
	for name, evs := range map[string][]sseEvent{
		"not json":            {{"message_start", start}, {"content_block_delta", `{"type":"content_block_delta",`}},
		"before start":        {{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}`}},
		"start no message":    {{"message_start", `{"type":"message_start"}`}},
		"delta no delta":      {{"message_start", start}, {"content_block_delta", `{"type":"content_block_delta","index":0}`}},
		"json for text block": {{"message_start", start}, {"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}`}},
		"error no object":     {{"error", `{"type":"error"}`}},
		"block start empty":   {{"message_start", start}, {"content_block_start", `{"type":"content_block_start","index":0}`}},
	} {
		t.Run(name, func(t *testing.T) {
			var s streamState
			var err error
			for _, ev := range evs {
				if _, err = s.event(ev.name, []byte(ev.data)); err != nil {
					break
				}
			}
			var e *messages.Error
			if !errors.As(err, &e) || e.GetCode() != runners.CodeServerError {
				t.Fatalf("error = %v, want server_error", err)
			}
		})
	}
}

func TestStreamIgnoresUnknownAndPing(t *testing.T) {
	var s streamState
	for _, ev := range []sseEvent{
		{"ping", `{"type": "ping"}`},
		{"message_start", `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}`},
		{"future_event", `{"type":"future_event","x":1}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"s","name":"web_search"}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{}}}`},
		{"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":2,"input_tokens":5}}`},
	} {
		c, err := s.event(ev.name, []byte(ev.data))
		if err != nil || c != nil {
			t.Fatalf("event %s = %v, %v; want nothing", ev.name, c, err)
		}
	}
	c, err := s.event("message_stop", []byte(`{"type":"message_stop"}`))
	var e *messages.Error
	if c != nil || !errors.As(err, &e) || e.GetCode() != runners.CodeContentFiltered {
		t.Fatalf("refusal without output = %v, %v; want content_filtered", c, err)
	}
}

func TestStreamRefusalAfterText(t *testing.T) {
	var s streamState
	for _, ev := range []sseEvent{
		{"message_start", `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}`},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
		{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I can"}}`},
		{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":2,"input_tokens":5}}`},
	} {
		if _, err := s.event(ev.name, []byte(ev.data)); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.event("message_stop", []byte(`{"type":"message_stop"}`))
	if err != nil || c.GetFinishReason() != messages.FinishReason_FINISH_REASON_CONTENT_FILTER ||
		c.GetUsage().GetInputTokens() != 5 || c.GetUsage().GetOutputTokens() != 2 {
		t.Fatalf("message_stop = %v, %v; want content_filter with input 5 output 2", c, err)
	}
}

func TestResponseChunkGolden(t *testing.T) {
	for _, name := range []string{"response_text", "response_tools"} {
		t.Run(name, func(t *testing.T) {
			r, err := decodeResponse(readTestdata(t, name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := responseChunk(r)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "mapped_"+name+".chunks.json", chunksJSON(t, []*messages.TokenChunk{c}))
		})
	}
}

func TestFinishReasons(t *testing.T) {
	for in, want := range map[string]messages.FinishReason{
		"end_turn": messages.FinishReason_FINISH_REASON_STOP, "stop_sequence": messages.FinishReason_FINISH_REASON_STOP,
		"pause_turn": messages.FinishReason_FINISH_REASON_STOP, "max_tokens": messages.FinishReason_FINISH_REASON_LENGTH,
		"model_context_window_exceeded": messages.FinishReason_FINISH_REASON_LENGTH,
		"tool_use":                      messages.FinishReason_FINISH_REASON_TOOL_CALLS,
		"refusal":                       messages.FinishReason_FINISH_REASON_CONTENT_FILTER,
	} {
		if got := finishReason(in); got != want {
			t.Errorf("finishReason(%q) = %v, want %v", in, got, want)
		}
	}
}
