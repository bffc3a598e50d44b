package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "file-token\n")
	empty := write("empty", " \n")
	big := write("big", strings.Repeat("x", maxSecretFileBytes+1))
	t.Setenv("CFGTEST_SET", "env-token")
	t.Setenv("CFGTEST_EMPTY", "")

	tests := []struct {
		name    string
		s       Secret
		want    string
		wantErr error // also a kind the error must match with errors.Is
	}{
		{"env", EnvSecret("CFGTEST_SET"), "env-token", nil},
		{"env unset", EnvSecret("CFGTEST_DEFINITELY_UNSET"), "", ErrSecret},
		{"env empty", EnvSecret("CFGTEST_EMPTY"), "", ErrSecret},
		{"file trims newline", FileSecret(good), "file-token", nil},
		{"file missing", FileSecret(filepath.Join(dir, "missing")), "", fs.ErrNotExist},
		{"file blank", FileSecret(empty), "", ErrSecret},
		{"file too large", FileSecret(big), "", ErrSecret},
		{"inline", InlineSecret("v"), "v", nil},
		{"inline empty", InlineSecret(""), "", ErrSecret},
		{"zero", Secret{}, "", ErrSecret},
		{"two sources", Secret{FromEnv: "CFGTEST_SET", FromFile: good}, "", ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Resolve()
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve() = %q, %v; want %q, nil", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrSecret) {
				t.Fatalf("Resolve() error = %v; want errors.Is %v and ErrSecret", err, tt.wantErr)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Resolve() error %T is not a *FieldError", err)
			}
			if got != "" {
				t.Errorf("Resolve() value = %q alongside an error", got)
			}
		})
	}
}

// TestSecretErrorsNameKeyAndSource checks that a parsed config's
// unresolvable secrets are reported at their key and name the variable or
// file.
func TestSecretErrorsNameKeyAndSource(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "openai-key")
	src := `
[server]
api_keys = [{ from_env = "CFGTEST_GW_UNSET" }]
[[deployment]]
name = "gpt-4o"
api_key = { from_file = "` + missing + `" }
`
	_, err := Parse([]byte(src), "x.toml")
	got := problemsOf(t, err)
	want := []problem{{"server.api_keys[0]", ErrSecret}, {dep(0, "gpt-4o", "api_key"), ErrSecret}}
	if !sameProblems(got, want) {
		t.Fatalf("problems:%s\nwant:%s", fmtProblems(got), fmtProblems(want))
	}
	for _, fe := range Problems(err) {
		source := "CFGTEST_GW_UNSET"
		if fe.Path != "server.api_keys[0]" {
			source = missing
		}
		if !strings.Contains(fe.Problem, source) {
			t.Errorf("%s: Problem %q does not name %q", fe.Path, fe.Problem, source)
		}
	}

	c, err := ParseWith([]byte(src), "x.toml", Options{SkipSecretResolution: true})
	if err != nil {
		t.Fatalf("ParseWith(SkipSecretResolution) = %v, want nil", err)
	}
	if got, want := c.Deployments[0].APIKey.Key(), dep(0, "gpt-4o", "api_key"); got != want {
		t.Errorf("APIKey.Key() = %q, want %q", got, want)
	}
	if _, err := c.Deployments[0].APIKey.Resolve(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resolve() = %v, want fs.ErrNotExist", err)
	}
	var fe *FieldError
	if _, err := c.Server.APIKeys[0].Resolve(); !errors.As(err, &fe) || fe.Path != "server.api_keys[0]" {
		t.Errorf("Resolve() = %v, want a FieldError at server.api_keys[0]", err)
	}
}

func TestInlineSecrets(t *testing.T) {
	src := `
[[deployment]]
name = "gpt-4o"
api_key = { value = "hunter2" }
`
	_, err := Parse([]byte(src), "x.toml")
	got := problemsOf(t, err)
	want := []problem{{dep(0, "gpt-4o", "api_key"), ErrSecret}}
	if !sameProblems(got, want) {
		t.Fatalf("Parse(inline secret) problems:%s\nwant:%s", fmtProblems(got), fmtProblems(want))
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q reveals the secret", err)
	}

	c, err := ParseWith([]byte(src), "x.toml", Options{AllowInlineSecrets: true})
	if err != nil {
		t.Fatalf("ParseWith(AllowInlineSecrets) = %v", err)
	}
	if v, err := c.Deployments[0].APIKey.Resolve(); v != "hunter2" || err != nil {
		t.Errorf("Resolve() = %q, %v; want hunter2, nil", v, err)
	}
	if !c.Deployments[0].APIKey.IsInline() {
		t.Error("IsInline() = false for { value = ... }")
	}
}

// TestSecretRedaction prints secrets, and structs holding them, every way
// a log line or an admin endpoint might.
func TestSecretRedaction(t *testing.T) {
	const value = "hunter2-very-secret"
	c := &Config{
		Server:      Server{APIKeys: []Secret{InlineSecret(value)}},
		Deployments: []Deployment{{Name: "gpt-4o", APIKey: InlineSecret(value), Token: InlineSecret(value)}},
	}
	c.ApplyDefaults()
	s := InlineSecret(value)
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs[verb+" secret"] = fmt.Sprintf(verb, s)
		outputs[verb+" *secret"] = fmt.Sprintf(verb, &s)
		outputs[verb+" deployment"] = fmt.Sprintf(verb, c.Deployments[0])
		outputs[verb+" config"] = fmt.Sprintf(verb, *c)
	}
	outputs["String"] = s.String()
	outputs["GoString"] = s.GoString()
	text, _ := s.MarshalText()
	outputs["MarshalText"] = string(text)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal(config) = %v", err)
	}
	outputs["json"] = string(js)
	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s reveals the secret: %s", name, out)
		}
	}
	if got, want := fmt.Sprint(EnvSecret("OPENAI_API_KEY")), "env:OPENAI_API_KEY"; got != want {
		t.Errorf("fmt.Sprint(EnvSecret) = %q, want %q", got, want)
	}
	if got, want := FileSecret("/run/k").String(), "file:/run/k"; got != want {
		t.Errorf("FileSecret.String() = %q, want %q", got, want)
	}
	if got, want := (Secret{}).String(), "none"; got != want {
		t.Errorf("Secret{}.String() = %q, want %q", got, want)
	}
	js, _ = json.Marshal(EnvSecret("K"))
	if got, want := string(js), `"env:K"`; got != want {
		t.Errorf("json.Marshal(EnvSecret) = %s, want %s", got, want)
	}
}
