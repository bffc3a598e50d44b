package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxErrorBody is how much of an error response body is read (64 KiB); the
// rest is discarded unread.
const MaxErrorBody = 64 << 10

// maxMessage caps the provider message quoted in an error (in runes).
const maxMessage = 400

// The reasons ParseErrorBody gives up; check with errors.Is.
var (
	ErrEmptyBody     = errors.New("httpapi: empty error body")
	ErrNotJSON       = errors.New("httpapi: error body is not JSON")
	ErrTruncatedJSON = errors.New("httpapi: error body is truncated JSON")
	ErrMalformedJSON = errors.New("httpapi: error body is malformed JSON")
)

// ErrorBody is a provider error body reduced to the fields the classifier
// reads. It understands every shape the supported providers send:
//
//	{"error":{"message":"…","type":"…","param":null,"code":"…"}}          OpenAI, Azure, LiteLLM
//	{"type":"error","error":{"type":"overloaded_error","message":"…"}}   Anthropic
//	{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED","details":[…]}}  Gemini
//	[{"error":{…}}]                                                      Gemini (streamed arrays)
//	{"error":"…"}, {"message":"…","code":…}, {"detail":"…"}               vLLM, llama.cpp, FastAPI servers
//
// Text fields are raw (not sanitized); use Sanitize before showing them.
type ErrorBody struct {
	Message string
	Type    string // error.type (OpenAI, Anthropic)
	Code    string // error.code as text: a string code or a number
	Param   string
	Status  string // error.status (Gemini: "RESOURCE_EXHAUSTED")
	// Details is error.details verbatim (Gemini's RetryInfo lives there).
	Details json.RawMessage
}

// ParseErrorBody parses a provider error body. It fails with ErrEmptyBody,
// ErrNotJSON (an HTML error page from a proxy, plain text), ErrTruncatedJSON
// or ErrMalformedJSON; the error message never quotes the body.
func ParseErrorBody(body []byte) (ErrorBody, error) {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")))
	if len(body) == 0 {
		return ErrorBody{}, ErrEmptyBody
	}
	if body[0] != '{' && body[0] != '[' {
		return ErrorBody{}, ErrNotJSON
	}
	if !json.Valid(body) {
		return ErrorBody{}, jsonProblem(body)
	}
	if body[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			return ErrorBody{}, ErrMalformedJSON
		}
		if len(arr) == 0 {
			return ErrorBody{}, ErrEmptyBody
		}
		body = arr[0]
		if len(body) == 0 || body[0] != '{' {
			return ErrorBody{}, ErrMalformedJSON
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return ErrorBody{}, ErrMalformedJSON
	}
	var eb ErrorBody
	if inner, ok := top["error"]; ok {
		switch firstByte(inner) {
		case '{':
			var m map[string]json.RawMessage
			if err := json.Unmarshal(inner, &m); err != nil {
				return ErrorBody{}, ErrMalformedJSON
			}
			fillErrorBody(&eb, m)
		default:
			eb.Message = rawText(inner)
		}
		if eb.Type == "" {
			eb.Type = rawText(top["type"])
			if eb.Type == "error" {
				eb.Type = ""
			}
		}
		return eb, nil
	}
	fillErrorBody(&eb, top)
	if eb.Message == "" {
		eb.Message = rawText(top["detail"])
	}
	if eb.Message == "" && eb.Code == "" && eb.Type == "" {
		return ErrorBody{}, ErrMalformedJSON
	}
	return eb, nil
}

func fillErrorBody(eb *ErrorBody, m map[string]json.RawMessage) {
	eb.Message = rawText(m["message"])
	eb.Type = rawText(m["type"])
	eb.Code = rawText(m["code"])
	eb.Param = rawText(m["param"])
	eb.Status = rawText(m["status"])
	if d, ok := m["details"]; ok && firstByte(d) != 'n' {
		eb.Details = d
	}
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// rawText renders a JSON value as text: a string's contents, a number's
// digits, "" for null or absence, and compact JSON for anything else.
func rawText(v json.RawMessage) string {
	switch firstByte(v) {
	case 0, 'n':
		return ""
	case '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	case '{', '[':
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			return b.String()
		}
		return ""
	}
	return string(bytes.TrimSpace(v))
}

// jsonProblem tells truncated JSON from otherwise malformed JSON.
func jsonProblem(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return ErrTruncatedJSON // every token was fine, but the value never closed
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return ErrTruncatedJSON
			}
			return ErrMalformedJSON
		}
	}
}

// Sanitize makes provider text safe to put in an error: it drops control
// characters and invalid UTF-8, collapses whitespace, removes anything that
// looks like an API key or bearer token (and each of secrets verbatim), and
// caps the result at max runes (with "…").
func Sanitize(s string, max int, secrets ...string) string {
	s = Redact(s, secrets...)
	var b strings.Builder
	n := 0
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size <= 1 {
			continue
		}
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= max {
			b.WriteString("…")
			return b.String()
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// Redact replaces each secret (of at least 4 bytes) found in s, and every
// substring that looks like a provider credential (sk-…, sk-ant-…, AIza…,
// "Bearer …"), with "[redacted]".
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	if !strings.Contains(s, "sk-") && !strings.Contains(s, "AIza") && !strings.Contains(s, "Bearer ") && !strings.Contains(s, "bearer ") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if j := credentialAt(s, i); j > i {
			b.WriteString("[redacted]")
			i = j
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// credentialAt returns the end of a credential-looking token starting at i,
// or i when there is none.
func credentialAt(s string, i int) int {
	if i > 0 && isKeyByte(s[i-1]) {
		return i
	}
	for _, p := range []string{"sk-", "AIza", "Bearer ", "bearer "} {
		if strings.HasPrefix(s[i:], p) {
			j := i + len(p)
			for j < len(s) && (isKeyByte(s[j]) || s[j] == '*') {
				j++
			}
			if j-i-len(p) >= 8 {
				return j
			}
		}
	}
	return i
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// describeNonJSON summarizes a non-JSON body for an error message: an HTML
// page's <title>, otherwise its first words, sanitized.
func describeNonJSON(body []byte, secrets []string) string {
	lower := asciiLower(body) // same length as body, unlike bytes.ToLower on invalid UTF-8
	if i := bytes.Index(lower, []byte("<title>")); i >= 0 {
		rest := body[i+len("<title>"):]
		if j := bytes.Index(lower[i+len("<title>"):], []byte("</title>")); j >= 0 {
			return "HTML page titled " + strconvQuote(Sanitize(string(rest[:j]), 120, secrets...))
		}
	}
	if bytes.Contains(lower[:min(len(lower), 512)], []byte("<html")) || bytes.HasPrefix(lower, []byte("<!doctype")) {
		return "HTML page"
	}
	return strconvQuote(Sanitize(string(body[:min(len(body), 1024)]), 120, secrets...))
}

// asciiLower returns a copy of b with ASCII letters lowered and every other
// byte unchanged, so that indices into it are indices into b.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func strconvQuote(s string) string { return "\"" + strings.ReplaceAll(s, "\"", "'") + "\"" }
