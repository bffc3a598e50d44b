package gemini

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func FuzzStreamChunk(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tools.sse", "stream_safety.sse", "stream_prompt_blocked.sse"} {
		f.Add(bytes.Join(dataEvents(readTestdata(f, name)), []byte("\n")))
	}
	f.Add([]byte(`{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var s streamState
		errs := func(_ int, data []byte) *messages.Error { return streamError(data, testKey) }
		for _, line := range bytes.Split(in, []byte("\n")) {
			c, err := s.chunk(line, errs)
			if err != nil {
				if runners.AsError(err).GetCode() == 0 {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if c != nil && c.GetFinishReason() != 0 {
				t.Fatal("chunk() returned a final chunk")
			}
		}
		if c, err := s.finish(); err == nil && c.GetUsage() == nil {
			t.Fatal("final chunk without usage")
		}
	})
}

func FuzzErrorResponse(f *testing.F) {
	f.Add(429, []byte(`{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}`))
	f.Add(400, []byte(`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(500, []byte(`[{"error":{"code":500}}]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := errorTable.FromResponse(status, http.Header{}, body, false, time.Unix(0, 0), testKey)
		if e == nil || e.GetCode() == 0 {
			t.Fatalf("FromResponse(%d, %q) = %v, want a typed error", status, body, e)
		}
		if strings.Contains(e.GetMessage(), testKey) {
			t.Fatal("message quotes the key")
		}
		retryInfoDelay(body)
		streamError(body, testKey)
	})
}
