package httpapi

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretResolve(t *testing.T) {
	t.Setenv("HTTPAPI_SECRET_TEST", "  env-value\n")
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, []byte("file-value-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    Secret
		want string
	}{
		{Secret{FromEnv: "HTTPAPI_SECRET_TEST"}, "env-value"},
		{Secret{FromFile: path}, "file-value-1"},
		{Secret{Inline: "inline-value"}, "inline-value"},
	} {
		if got, err := tt.s.Resolve(); err != nil || got != tt.want {
			t.Errorf("%v.Resolve() = %q, %v; want %q", tt.s, got, err, tt.want)
		}
	}
	// Rotation: a file secret is re-read on every Resolve.
	if err := os.WriteFile(path, []byte("file-value-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := (Secret{FromFile: path}).Resolve(); got != "file-value-2" {
		t.Errorf("after rotation Resolve() = %q, want file-value-2", got)
	}
	for _, s := range []Secret{{}, {FromEnv: "HTTPAPI_SECRET_UNSET"}, {FromFile: filepath.Join(dir, "missing")}, {FromEnv: "A", FromFile: "B"}} {
		if _, err := s.Resolve(); err == nil {
			t.Errorf("%v.Resolve() succeeded", s)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := (Secret{FromFile: empty}).Resolve(); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty file: err = %v, want one naming the path", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret{Inline: "sk-inline-secret"}
	cfg := Config{APIKey: s, Endpoint: "https://x", Model: "m"}
	j, _ := json.Marshal(cfg)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), string(j)} {
		if strings.Contains(out, "sk-inline-secret") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if got := (Secret{FromEnv: "OPENAI_API_KEY"}).String(); got != "env:OPENAI_API_KEY" {
		t.Errorf("String() = %q", got)
	}
}
