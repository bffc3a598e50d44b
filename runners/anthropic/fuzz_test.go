package anthropic

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/runners"
)

func FuzzStreamEvent(f *testing.F) {
	for _, name := range []string{"stream_text.sse", "stream_tools.sse", "stream_overloaded.sse"} {
		var s []byte
		for _, ev := range splitTranscript(f, readTestdata(f, name)) {
			s = append(s, ev.name...)
			s = append(s, '\n')
			s = append(s, ev.data...)
			s = append(s, '\n')
		}
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// Lines alternate event name / data.
		var st streamState
		lines := splitLines(in)
		for i := 0; i+1 < len(lines); i += 2 {
			c, err := st.event(string(lines[i]), lines[i+1])
			if err != nil {
				if runners.AsError(err).GetCode() == 0 {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if c != nil && c.GetFinishReason() != 0 && c.GetUsage() == nil {
				t.Fatal("final chunk without usage")
			}
		}
	})
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == '\n' {
			out = append(out, b[start:i])
			start = i + 1
		}
	}
	return append(out, b[start:])
}

func FuzzErrorTable(f *testing.F) {
	f.Add(429, []byte(`{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}`))
	f.Add(400, []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}`))
	f.Add(502, []byte(`<html>bad gateway</html>`))
	f.Add(500, []byte(`{"type":"error","error":null}`))
	f.Add(529, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := errorTable.FromResponse(status, http.Header{}, body, false, time.Unix(0, 0), testKey)
		if e == nil || e.GetCode() == 0 {
			t.Fatalf("FromResponse(%d, %q) = %v, want a typed error", status, body, e)
		}
		if strings.Contains(e.GetMessage(), testKey) {
			t.Fatal("message quotes the key")
		}
	})
}
