package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

type ev struct {
	Event, Data, ID string
	Retry           time.Duration
}

func readAll(t testing.TB, r io.Reader, max int) ([]ev, error) {
	t.Helper()
	s := NewSSEReaderSize(r, max)
	var out []ev
	for {
		e, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ev{e.Event, string(e.Data), e.ID, e.Retry})
	}
}

func TestSSEFraming(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ev
		err  error
	}{
		{"lf", "data: a\n\ndata: b\n\n", []ev{{"message", "a", "", 0}, {"message", "b", "", 0}}, io.EOF},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []ev{{"message", "a", "", 0}, {"message", "b", "", 0}}, io.EOF},
		{"cr", "data: a\r\rdata: b\r\r", []ev{{"message", "a", "", 0}, {"message", "b", "", 0}}, io.EOF},
		{"mixed", "data: a\r\ndata: b\rdata: c\n\r\n", []ev{{"message", "a\nb\nc", "", 0}}, io.EOF},
		{"multiline", "data: one\ndata: two\ndata:\n\n", []ev{{"message", "one\ntwo\n", "", 0}}, io.EOF},
		{"no space", "data:x\n\n", []ev{{"message", "x", "", 0}}, io.EOF},
		{"two spaces", "data:  x\n\n", []ev{{"message", " x", "", 0}}, io.EOF},
		{"comment", ": ping\n\n: hi\ndata: x\n\n", []ev{{"message", "x", "", 0}}, io.EOF},
		{"event name", "event: message_start\ndata: {}\n\nevent: ping\ndata: {}\n\n",
			[]ev{{"message_start", "{}", "", 0}, {"ping", "{}", "", 0}}, io.EOF},
		{"event without data not dispatched", "event: x\n\ndata: y\n\n", []ev{{"message", "y", "", 0}}, io.EOF},
		{"id persists", "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
			[]ev{{"message", "a", "7", 0}, {"message", "b", "7", 0}, {"message", "c", "", 0}}, io.EOF},
		{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
			[]ev{{"message", "a", "1", 0}, {"message", "b", "1", 0}}, io.EOF},
		{"retry", "retry: 1500\ndata: a\n\nretry: x1\ndata: b\n\n",
			[]ev{{"message", "a", "", 1500 * time.Millisecond}, {"message", "b", "", 0}}, io.EOF},
		{"bom", "\xEF\xBB\xBFdata: a\n\n", []ev{{"message", "a", "", 0}}, io.EOF},
		{"bom only once", "\xEF\xBB\xBFdata: a\n\n\xEF\xBB\xBFdata: b\n\n", []ev{{"message", "a", "", 0}}, io.EOF},
		{"unknown field", "foo: bar\ndata: a\n\n", []ev{{"message", "a", "", 0}}, io.EOF},
		{"field without colon", "data\n\n", []ev{{"message", "", "", 0}}, io.EOF},
		{"partial event at EOF", "data: a\n\ndata: b\n", []ev{{"message", "a", "", 0}}, io.ErrUnexpectedEOF},
		{"unterminated line at EOF", "data: a\n\ndata: b", []ev{{"message", "a", "", 0}}, io.ErrUnexpectedEOF},
		{"empty", "", nil, io.EOF},
		{"openai done", "data: {\"x\":1}\n\ndata: [DONE]\n\n", []ev{{"message", "{\"x\":1}", "", 0}, {"message", "[DONE]", "", 0}}, io.EOF},
	}
	readers := map[string]func(string) io.Reader{
		"whole":    func(s string) io.Reader { return strings.NewReader(s) },
		"onebyte":  func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"halfread": func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	for _, tt := range tests {
		for rn, mk := range readers {
			t.Run(tt.name+"/"+rn, func(t *testing.T) {
				got, err := readAll(t, mk(tt.in), 0)
				if !errors.Is(err, tt.err) {
					t.Fatalf("Next() err = %v, want %v", err, tt.err)
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Fatalf("events = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSSELineTooLong(t *testing.T) {
	in := "data: " + strings.Repeat("x", 100) + "\n\n"
	if _, err := readAll(t, strings.NewReader(in), 64); !errors.Is(err, ErrSSELineTooLong) {
		t.Fatalf("err = %v, want ErrSSELineTooLong", err)
	}
	// A line exactly at the limit passes.
	in = "data: " + strings.Repeat("x", 58) + "\n\n"
	got, err := readAll(t, iotest.OneByteReader(strings.NewReader(in)), 64)
	if err != io.EOF || len(got) != 1 || len(got[0].Data) != 58 {
		t.Fatalf("at limit: got %d events, err %v", len(got), err)
	}
	// Large events grow the buffer beyond its initial size.
	big := strings.Repeat("y", 100_000)
	got, err = readAll(t, strings.NewReader("data: "+big+"\n\n"), 0)
	if err != io.EOF || len(got) != 1 || got[0].Data != big {
		t.Fatalf("big: got %d events, err %v", len(got), err)
	}
}

func TestSSEReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	got, err := readAll(t, r, 0)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("got %v, %v; want one event then boom", got, err)
	}
}

func TestSSENoAllocs(t *testing.T) {
	stream := []byte(strings.Repeat("event: delta\ndata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\nid: 1\n\n", 200))
	r := bytes.NewReader(stream)
	s := NewSSEReader(r)
	allocs := testing.AllocsPerRun(10, func() {
		r.Reset(stream)
		*s = SSEReader{r: r, buf: s.buf, max: s.max, data: s.data, crAt: -1, lfAt: -1, names: s.names, nNames: s.nNames, id: s.id}
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
	})
	if allocs > 1 {
		t.Fatalf("allocs per 200-event stream = %v, want <= 1", allocs)
	}
}

// openAIChunk is a typical chat.completion.chunk line.
const openAIChunk = `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}]}` + "\n\n"

func BenchmarkSSEDecode(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			stream := []byte(strings.Repeat(openAIChunk, n))
			r := bytes.NewReader(stream)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(stream)
				s := NewSSEReader(r)
				for {
					if _, err := s.Next(); err != nil {
						break
					}
				}
			}
		})
	}
}

// BenchmarkSSEDecodeSteady measures one long stream, so that the per-reader
// setup is amortized: allocs/op divided by chunks is the per-chunk figure.
func BenchmarkSSEDecodeSteady(b *testing.B) {
	const chunks = 10000
	stream := []byte(strings.Repeat(openAIChunk, chunks))
	r := bytes.NewReader(stream)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var events int
	for b.Loop() {
		r.Reset(stream)
		s := NewSSEReader(r)
		for {
			if _, err := s.Next(); err != nil {
				break
			}
			events++
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: a\n\n", "data: a\r\n\r\n", "data: a\r\r", "\xEF\xBB\xBFevent: x\ndata: y\nid: 3\nretry: 10\n\n",
		": c\n\ndata\n\n", openAIChunk + "data: [DONE]\n\n", "data: a\rdata: b\n\r\n", "data: " + strings.Repeat("z", 300),
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		// Whole and byte-wise reads must agree, never panic, and respect the limit.
		whole, errW := readAll(t, bytes.NewReader(in), 128)
		var r io.Reader = bytes.NewReader(in)
		if chunk%2 == 1 {
			r = iotest.OneByteReader(r)
		} else {
			r = iotest.HalfReader(r)
		}
		parts, errP := readAll(t, r, 128)
		if fmt.Sprint(whole) != fmt.Sprint(parts) || !errors.Is(errP, errW) && !errors.Is(errW, errP) {
			t.Fatalf("whole %q (%v) != chunked %q (%v)", whole, errW, parts, errP)
		}
		for _, e := range whole {
			if len(e.Data) > len(in) || e.Event == "" {
				t.Fatalf("bad event %+v", e)
			}
		}
		if errW != io.EOF && errW != io.ErrUnexpectedEOF && !errors.Is(errW, ErrSSELineTooLong) {
			t.Fatalf("unexpected error %v", errW)
		}
	})
}
