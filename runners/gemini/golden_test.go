package gemini

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"google.golang.org/protobuf/encoding/protojson"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/providers/gemini")

// goldenDir holds this provider's recorded transcripts and golden outputs.
var goldenDir = filepath.Join("..", "..", "testdata", "providers", "gemini")

// checkGolden compares got (JSON) with the golden file name, indenting both;
// with -update it rewrites the file instead.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("golden %s: output is not JSON: %v", name, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update to create it)", name, err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("golden %s differs:\ngot:\n%s\nwant:\n%s", name, buf.Bytes(), want)
	}
}

// readTestdata returns a file from the golden directory.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chunksJSON renders chunks as a JSON array of protojson objects, the form
// kept in the *.chunks.json golden files.
func chunksJSON(t *testing.T, chunks []*messages.TokenChunk) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, c := range chunks {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := protojson.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}
