package gateway

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonReader is a small pull parser over a complete JSON document, used to
// decode chat requests without reflection. It accepts exactly the documents
// encoding/json accepts (RFC 8259, nesting up to maxJSONDepth) and decodes
// strings the way encoding/json does (invalid UTF-8 and unpaired surrogates
// become U+FFFD). A syntax error is sticky: once bad is set every method
// returns at once and the caller reports the document as malformed.
type jsonReader struct {
	b     []byte
	i     int
	depth int
	bad   bool
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

func (r *jsonReader) fail() { r.bad = true }

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

// end checks that only white space follows the document.
func (r *jsonReader) end() {
	r.ws()
	if r.i != len(r.b) {
		r.fail()
	}
}

// literal consumes lit (true, false or null).
func (r *jsonReader) literal(lit string) bool {
	if len(r.b)-r.i < len(lit) || string(r.b[r.i:r.i+len(lit)]) != lit {
		r.fail()
		return false
	}
	r.i += len(lit)
	return true
}

// enter consumes the opening bracket of an object or array.
func (r *jsonReader) enter() bool {
	r.depth++
	if r.depth > maxJSONDepth {
		r.fail()
		return false
	}
	r.i++
	return true
}

// member moves to the next member of an object whose '{' was consumed by
// enter; n counts the members seen. It returns the key, positioned at the
// value, or false at the closing '}' (consumed) or on a syntax error.
func (r *jsonReader) member(n *int) ([]byte, bool) {
	if r.bad {
		return nil, false
	}
	c := r.peek()
	if c == '}' {
		r.i++
		r.depth--
		return nil, false
	}
	if *n > 0 {
		if c != ',' {
			r.fail()
			return nil, false
		}
		r.i++
		c = r.peek()
	}
	if c != '"' {
		r.fail()
		return nil, false
	}
	*n++
	key, ok := r.stringBytes()
	if !ok {
		return nil, false
	}
	if r.peek() != ':' {
		r.fail()
		return nil, false
	}
	r.i++
	r.ws()
	return key, true
}

// element moves to the next element of an array whose '[' was consumed by
// enter; it returns false at the closing ']' (consumed) or on a syntax error.
func (r *jsonReader) element(n *int) bool {
	if r.bad {
		return false
	}
	c := r.peek()
	if c == ']' {
		r.i++
		r.depth--
		return false
	}
	if *n > 0 {
		if c != ',' {
			r.fail()
			return false
		}
		r.i++
		r.ws()
	}
	*n++
	return true
}

// skip consumes one value of any type, checking its syntax.
func (r *jsonReader) skip() {
	if r.bad {
		return
	}
	switch c := r.peek(); {
	case c == '"':
		r.stringBytes()
	case c == '{':
		if !r.enter() {
			return
		}
		for n := 0; ; {
			if _, ok := r.member(&n); !ok {
				return
			}
			r.skip()
		}
	case c == '[':
		if !r.enter() {
			return
		}
		for n := 0; r.element(&n); {
			r.skip()
		}
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		r.number()
	default:
		r.fail()
	}
}

// raw consumes one value and returns its bytes (a sub-slice of the input).
func (r *jsonReader) raw() []byte {
	r.ws()
	start := r.i
	r.skip()
	if r.bad {
		return nil
	}
	return r.b[start:r.i]
}

// number consumes a JSON number and returns its text.
func (r *jsonReader) number() []byte {
	b, i := r.b, r.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		r.fail()
		return nil
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			r.fail()
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i == d {
			r.fail()
			return nil
		}
	}
	r.i = i
	return b[start:i]
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses a JSON number as strconv.ParseFloat(s, 64) does. Short
// decimals without an exponent take the exact fast path (an integer below
// 2^53 divided by an exact power of ten is correctly rounded); the rest
// go through strconv.
func parseFloat(num []byte) (float64, bool) {
	var mant uint64
	digits, frac := 0, -1
	neg := false
	for i, c := range num {
		switch {
		case c == '-' && i == 0:
			neg = true
		case c == '.':
			frac = 0
		case '0' <= c && c <= '9':
			if mant != 0 || c != '0' {
				digits++
			}
			mant = mant*10 + uint64(c-'0')
			if frac >= 0 {
				frac++
			}
		default:
			digits = 99 // exponent: slow path
		}
	}
	if digits <= 15 && frac < len(pow10) {
		f := float64(mant)
		if frac > 0 {
			f /= pow10[frac]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	f, err := strconv.ParseFloat(string(num), 64)
	return f, err == nil
}

// parseInt parses a JSON number as strconv.ParseInt(s, 10, 64) does: no
// fraction, no exponent, within int64.
func parseInt(num []byte) (int64, bool) {
	neg := len(num) > 0 && num[0] == '-'
	d := num
	if neg {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// stringBytes consumes a string and returns its decoded bytes: a sub-slice
// of the input when it has no escapes and is valid UTF-8, else a copy.
func (r *jsonReader) stringBytes() ([]byte, bool) {
	b := r.b
	i := r.i + 1 // past the quote
	start := i
	ascii := true
	for i < len(b) {
		c := b[i]
		if c == '"' {
			s := b[start:i]
			if !ascii && !utf8.Valid(s) {
				r.i = i + 1
				return []byte(string([]rune(string(s)))), true // each bad byte becomes U+FFFD
			}
			r.i = i + 1
			return s, true
		}
		if c == '\\' {
			return r.unquoteSlow(start)
		}
		if c < 0x20 {
			r.fail()
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	r.fail()
	return nil, false
}

// unquoteSlow decodes a string with escapes starting at start (past the
// opening quote).
func (r *jsonReader) unquoteSlow(start int) ([]byte, bool) {
	b := r.b
	out := make([]byte, 0, 64)
	i := start
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			r.i = i + 1
			return out, true
		case c == '\\':
			if i+1 >= len(b) {
				r.fail()
				return nil, false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
				i += 2
			case 'b':
				out, i = append(out, '\b'), i+2
			case 'f':
				out, i = append(out, '\f'), i+2
			case 'n':
				out, i = append(out, '\n'), i+2
			case 'r':
				out, i = append(out, '\r'), i+2
			case 't':
				out, i = append(out, '\t'), i+2
			case 'u':
				rr := hex4(b, i+2)
				if rr < 0 {
					r.fail()
					return nil, false
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					rr1 := rune(-1)
					if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						rr1 = hex4(b, i+2)
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
					rr = utf8.RuneError
				}
				out = utf8.AppendRune(out, rr)
			default:
				r.fail()
				return nil, false
			}
		case c < 0x20:
			r.fail()
			return nil, false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			rr, size := utf8.DecodeRune(b[i:])
			out = utf8.AppendRune(out, rr) // RuneError for an invalid byte
			i += size
		}
	}
	r.fail()
	return nil, false
}

// hex4 decodes the four hex digits at b[i:], or returns -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		v = v<<4 | rune(c)
	}
	return v
}
