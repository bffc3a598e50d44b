package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const docsPath = "../docs/config.md"

// TestDocsExamples parses every ```toml block in docs/config.md. Secrets
// are not resolved: the examples name variables and files of a real
// deployment.
func TestDocsExamples(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```toml\n(.*?)^```").FindAllStringSubmatch(string(data), -1)
	if len(blocks) < 8 {
		t.Fatalf("found %d toml blocks in %s, want at least 8", len(blocks), docsPath)
	}
	for i, b := range blocks {
		if _, err := ParseWith([]byte(b[1]), "docs block", Options{SkipSecretResolution: true}); err != nil {
			t.Errorf("docs toml block %d:\n%s\nerror: %v", i, b[1], err)
		}
	}
}

// schemaTables lists the keys of every table the decoder accepts, by table
// path ("deployment.retry").
func schemaTables(path string, t reflect.Type, out map[string][]string) {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("toml")
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		keys = append(keys, key)
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != secretType {
			schemaTables(sub, ft, out)
		}
	}
	if path != "" {
		slices.Sort(keys)
		out[path] = keys
	}
}

// TestDocsListEveryKey checks that each table section of docs/config.md
// lists exactly the keys the code accepts.
func TestDocsListEveryKey(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	schemaTables("", reflect.TypeFor[Config](), want)

	heading := regexp.MustCompile("^#+ `\\[\\[?([a-z_.]+)\\]\\]?`")
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\|")
	got := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			section = ""
			if m := heading.FindStringSubmatch(line); m != nil {
				section = m[1]
				got[section] = []string{}
			}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && section != "" {
			got[section] = append(got[section], m[1])
		}
	}
	for table, keys := range want {
		doc, ok := got[table]
		if !ok {
			t.Errorf("docs/config.md has no section for [%s]", table)
			continue
		}
		slices.Sort(doc)
		if !slices.Equal(doc, keys) {
			t.Errorf("docs/config.md [%s] lists %v, the code accepts %v", table, doc, keys)
		}
	}
	for table := range got {
		if _, ok := want[table]; !ok {
			t.Errorf("docs/config.md documents [%s], which the code does not accept", table)
		}
	}
}
