package gemini

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// benchStream is a 256-chunk alt=sse stream.
func benchStream() []byte {
	var b bytes.Buffer
	for i := 0; i < 256; i++ {
		fin := ""
		if i == 255 {
			fin = `,"finishReason":"STOP"`
		}
		fmt.Fprintf(&b, "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" word%d\"}],\"role\":\"model\"}%s,\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},\"modelVersion\":\"gemini-2.0-flash\"}\r\n\r\n", i, fin, i+1, i+10)
	}
	return b.Bytes()
}

// BenchmarkStreamDecode measures SSE decoding plus chunk mapping of a
// streamGenerateContent stream: MB/s, and allocations per 256-chunk stream.
func BenchmarkStreamDecode(b *testing.B) {
	data := benchStream()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var st streamState
		rd := httpapi.NewSSEReader(bytes.NewReader(data))
		for {
			ev, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.chunk(ev.Data, nil); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := st.finish(); err != nil {
			b.Fatal(err)
		}
	}
}
