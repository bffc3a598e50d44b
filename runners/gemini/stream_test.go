package gemini

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// dataEvents returns the data fields of a recorded alt=sse transcript
// (Gemini sends one single-line data field per event, no event names).
func dataEvents(b []byte) [][]byte {
	var out [][]byte
	for _, line := range bytes.Split(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n")) {
		if d, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			out = append(out, bytes.TrimPrefix(d, []byte(" ")))
		}
	}
	return out
}

func testErrors(status int, body []byte) *messages.Error {
	return runners.Errorf(runners.CodeServerError, "in-stream error")
}

func mapTranscript(t *testing.T, name string) ([]*messages.TokenChunk, error) {
	t.Helper()
	var s streamState
	var out []*messages.TokenChunk
	for _, d := range dataEvents(readTestdata(t, name)) {
		c, err := s.chunk(d, testErrors)
		if err != nil {
			return out, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	c, err := s.finish()
	if err != nil {
		return out, err
	}
	return append(out, c), nil
}

func TestStreamMappingGolden(t *testing.T) {
	for _, name := range []string{"stream_text", "stream_tools", "stream_safety"} {
		t.Run(name, func(t *testing.T) {
			chunks, err := mapTranscript(t, name+".sse")
			if err != nil {
				t.Fatalf("mapping = %v", err)
			}
			checkGolden(t, "mapped_"+name+".chunks.json", chunksJSON(t, chunks))
		})
	}
}

func TestStreamFinishAndUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		finish messages.FinishReason
		usage  string
		text   string
	}{
		{"stream_text.sse", messages.FinishReason_FINISH_REASON_STOP, `input_tokens:9 output_tokens:11`, "The sky is blue because of Rayleigh scattering."},
		{"stream_tools.sse", messages.FinishReason_FINISH_REASON_TOOL_CALLS, `input_tokens:120 output_tokens:70 cached_input_tokens:64 reasoning_tokens:40`, ""},
		{"stream_safety.sse", messages.FinishReason_FINISH_REASON_CONTENT_FILTER, `input_tokens:7 output_tokens:5`, "Here is a story about"},
	} {
		chunks, err := mapTranscript(t, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for _, c := range chunks {
			text.WriteString(c.GetText())
		}
		last := chunks[len(chunks)-1]
		if last.GetFinishReason() != tc.finish {
			t.Errorf("%s: finish = %v, want %v", tc.name, last.GetFinishReason(), tc.finish)
		}
		if got := strings.Join(strings.Fields(last.GetUsage().String()), " "); got != tc.usage {
			t.Errorf("%s: usage = %s, want %s", tc.name, got, tc.usage)
		}
		if text.String() != tc.text {
			t.Errorf("%s: text = %q, want %q", tc.name, text.String(), tc.text)
		}
	}
}

func TestStreamPromptBlocked(t *testing.T) {
	_, err := mapTranscript(t, "stream_prompt_blocked.sse")
	var e *messages.Error
	if !errors.As(err, &e) || e.GetCode() != runners.CodeContentFiltered {
		t.Fatalf("blocked prompt = %v, want content_filtered", err)
	}
}

func TestStreamCutWithoutFinish(t *testing.T) {
	var s streamState
	d := dataEvents(readTestdata(t, "stream_text.sse"))
	for _, ev := range d[:2] {
		if _, err := s.chunk(ev, testErrors); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.finish()
	var e *messages.Error
	if !errors.As(err, &e) || e.GetCode() != runners.CodeServerError {
		t.Fatalf("finish after a cut = %v, want server_error", err)
	}
}

func TestStreamErrorObject(t *testing.T) {
	var s streamState
	_, err := s.chunk([]byte(`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`), testErrors)
	if err == nil || err.Error() != testErrors(0, nil).Error() {
		t.Fatalf("error object = %v, want the mapper's error", err)
	}
	if _, err := s.chunk([]byte(`{"candidates":[`), testErrors); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

func TestResponseGolden(t *testing.T) {
	for _, name := range []string{"response_text", "response_max_tokens"} {
		t.Run(name, func(t *testing.T) {
			var s streamState
			c, err := s.chunk(readTestdata(t, name+".json"), testErrors)
			if err != nil {
				t.Fatal(err)
			}
			f, err := s.finish()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "mapped_"+name+".chunks.json", chunksJSON(t, []*messages.TokenChunk{c, f}))
		})
	}
}

func TestBlockedWithoutOutput(t *testing.T) {
	var s streamState
	if _, err := s.chunk([]byte(`{"candidates":[{"finishReason":"SAFETY","index":0}],"usageMetadata":{"promptTokenCount":5}}`), testErrors); err != nil {
		t.Fatal(err)
	}
	_, err := s.finish()
	var e *messages.Error
	if !errors.As(err, &e) || e.GetCode() != runners.CodeContentFiltered {
		t.Fatalf("SAFETY with no output = %v, want content_filtered", err)
	}
}

func TestMalformedFunctionCallWithoutOutput(t *testing.T) {
	var s streamState
	if _, err := s.chunk([]byte(`{"candidates":[{"content":{"parts":[]},"finishReason":"MALFORMED_FUNCTION_CALL","index":0}]}`), testErrors); err != nil {
		t.Fatal(err)
	}
	_, err := s.finish()
	if c := runners.Classify(err); c.Code != runners.CodeServerError || !c.Retryable {
		t.Fatalf("MALFORMED_FUNCTION_CALL with no output = %v, want a retryable server_error", err)
	}
}
