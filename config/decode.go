package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
)

// decoder fills Go values from the generic tree toml.Decode produces
// (map[string]any, []map[string]any, []any, string, int64, float64, bool,
// dates). Unlike decoding straight into structs it matches keys exactly,
// names every problem with an indexed path (deployment[2] ("gpt-4o").x), and
// keeps going after a problem, so that one run reports them all.
type decoder struct {
	p *problems
	// zeros are leaves explicitly set to their zero value; after defaults
	// are applied, a zero that was replaced by a default is refused.
	zeros []explicitZero
}

type explicitZero struct {
	path string
	v    reflect.Value
}

var (
	secretType    = reflect.TypeOf(Secret{})
	textUnmarshal = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// elemPath names the i-th element of a list, with the element's name when
// it is a table with a string "name" key.
func elemPath(parent string, i int, raw any) string {
	p := fmt.Sprintf("%s[%d]", parent, i)
	if m, ok := raw.(map[string]any); ok {
		if n, ok := m["name"].(string); ok {
			p += fmt.Sprintf(" (%q)", n)
		}
	}
	return p
}

// typeName describes a TOML value's type for error messages, without its
// value (which could be a mistakenly inlined credential).
func typeName(raw any) string {
	switch raw.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []map[string]any, []any:
		return "a list"
	}
	return "a date/time"
}

func (d *decoder) typeErr(path, want string, raw any) {
	d.p.add(path, ErrType, "must be %s, got %s", want, typeName(raw))
}

// decode fills v (settable) from raw.
func (d *decoder) decode(path string, raw any, v reflect.Value) {
	t := v.Type()
	if t == secretType {
		d.secret(path, raw, v)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshal) {
		s, ok := raw.(string)
		if !ok {
			d.typeErr(path, "a string", raw)
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.p.add(path, ErrInvalid, "%v", err)
			return
		}
		d.noteZero(path, v)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		e := reflect.New(t.Elem())
		d.decode(path, raw, e.Elem())
		v.Set(e)
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			d.typeErr(path, "a table", raw)
			return
		}
		d.table(path, m, v)
	case reflect.Slice:
		d.slice(path, raw, v)
	case reflect.Map:
		m, ok := raw.(map[string]any)
		if !ok {
			d.typeErr(path, "a table", raw)
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for _, k := range sortedKeys(m) {
			e := reflect.New(t.Elem()).Elem()
			d.decode(joinPath(path, quoteKey(k)), m[k], e)
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(out)
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			d.typeErr(path, "a string", raw)
			return
		}
		v.SetString(s)
		d.noteZero(path, v)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			d.typeErr(path, "a boolean (true or false)", raw)
			return
		}
		v.SetBool(b)
		d.noteZero(path, v)
	case reflect.Int, reflect.Int64:
		n, ok := raw.(int64)
		if !ok {
			d.typeErr(path, "an integer", raw)
			return
		}
		if v.OverflowInt(n) {
			d.p.add(path, ErrOutOfRange, "%d does not fit", n)
			return
		}
		v.SetInt(n)
		d.noteZero(path, v)
	case reflect.Float64:
		var f float64
		switch x := raw.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			d.typeErr(path, "a number", raw)
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			d.p.add(path, ErrOutOfRange, "must be a finite number, got %v", f)
			return
		}
		v.SetFloat(f)
		d.noteZero(path, v)
	default:
		// Only reachable if a schema type gains an unsupported field.
		panic(fmt.Sprintf("config: unsupported field type %s at %s", t, path))
	}
}

func (d *decoder) noteZero(path string, v reflect.Value) {
	if v.IsZero() {
		d.zeros = append(d.zeros, explicitZero{path: path, v: v})
	}
}

// table fills struct v from m, matching keys to toml tags exactly.
func (d *decoder) table(path string, m map[string]any, v reflect.Value) {
	fields := tomlFields(v.Type())
	for _, k := range sortedKeys(m) {
		idx, ok := fields[k]
		kp := joinPath(path, quoteKey(k))
		if !ok {
			d.p.add(kp, ErrUnknownKey, "unknown key%s", suggest(k, fields))
			continue
		}
		d.decode(kp, m[k], v.Field(idx))
	}
	if dp, ok := v.Addr().Interface().(*Deployment); ok {
		dp.written = make(map[string]bool, len(m))
		for k := range m {
			dp.written[k] = true
		}
	}
}

func (d *decoder) slice(path string, raw any, v reflect.Value) {
	var items []any
	switch x := raw.(type) {
	case []any:
		items = x
	case []map[string]any:
		items = make([]any, len(x))
		for i := range x {
			items[i] = x[i]
		}
	default:
		d.typeErr(path, "a list", raw)
		return
	}
	out := reflect.MakeSlice(v.Type(), len(items), len(items))
	for i, it := range items {
		d.decode(elemPath(path, i, it), it, out.Index(i))
	}
	v.Set(out)
}

// secret decodes { from_env = "X" }, { from_file = "/p" } or { value = "v" }.
func (d *decoder) secret(path string, raw any, v reflect.Value) {
	m, ok := raw.(map[string]any)
	if !ok {
		if _, isString := raw.(string); isString {
			d.p.add(path, ErrType, `must be a secret reference, { from_env = "NAME" } or { from_file = "/path" }, not a string: credentials never go in the config file`)
			return
		}
		d.typeErr(path, `a secret reference like { from_env = "NAME" }`, raw)
		return
	}
	var s Secret
	for _, k := range sortedKeys(m) {
		kp := joinPath(path, quoteKey(k))
		str, isString := m[k].(string)
		switch k {
		case "from_env", "from_file", "value":
			if !isString {
				d.typeErr(kp, "a string", m[k])
				continue
			}
		default:
			d.p.add(kp, ErrUnknownKey, "unknown key (a secret reference has from_env, from_file or value)")
			continue
		}
		switch k {
		case "from_env":
			if str == "" {
				d.p.add(kp, ErrRequired, "must name an environment variable")
			}
			s.FromEnv = str
		case "from_file":
			if str == "" {
				d.p.add(kp, ErrRequired, "must name a file")
			}
			s.FromFile = str
		case "value":
			s.value, s.hasValue, s.fromTOML = str, true, true
		}
	}
	s.declared = len(m) == 0
	v.Set(reflect.ValueOf(s))
}

// tomlFields maps toml tag names to field indexes.
func tomlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		out[tag] = i
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// quoteKey writes k as a TOML key: bare when it can be, quoted otherwise.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Sprintf("%q", k)
		}
	}
	return k
}

// suggest returns ` (did you mean "x"?)` for the closest known key, if any
// is close.
func suggest(k string, fields map[string]int) string {
	best, bestDist := "", 3
	for name := range fields {
		dist := editDistance(strings.ToLower(k), name)
		if dist < bestDist || dist == bestDist && name < best {
			best, bestDist = name, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, capped at 3.
func editDistance(a, b string) int {
	if d := len(a) - len(b); d > 2 || d < -2 {
		return 3
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], 3)
}
