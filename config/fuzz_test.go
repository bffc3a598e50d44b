package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParse checks that any input yields either a valid config or problems
// that are all typed FieldErrors, never a panic, and that a config it
// accepts stays valid when validated again.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/config/*.toml")
	seeds = append(seeds, "default.toml")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{demo, gpt, stories, demo + "replicas = 0\n", "[[router]]\nkind = \"tiered\"\n[[router.tier]]\n",
		"[server]\napi_keys = [{ value = \"x\" }, {}]\n", "a = nan\n[[deployment]]\nheaders = { \"\" = \"\" }\n"} {
		f.Add([]byte(s))
	}
	opts := Options{AllowInlineSecrets: true, SkipSecretResolution: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseWith(data, "fuzz.toml", opts)
		if (c == nil) == (err == nil) {
			t.Fatalf("ParseWith returned config %v and error %v; want exactly one", c != nil, err)
		}
		if err != nil {
			ps := Problems(err)
			if len(ps) == 0 {
				t.Fatalf("error %v holds no *FieldError", err)
			}
			for _, fe := range ps {
				if !slices.Contains(kinds, fe.Kind) || fe.Problem == "" {
					t.Fatalf("malformed FieldError %#v", fe)
				}
			}
			return
		}
		p := &problems{}
		c.validate(p, false)
		if len(p.list) > 0 {
			t.Fatalf("accepted config fails validation again: %v", p.err())
		}
	})
}
