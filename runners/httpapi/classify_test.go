package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ErrorBody
		err  error
	}{
		{"openai", `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			ErrorBody{Message: "This model's maximum context length is 128000 tokens.", Type: "invalid_request_error", Param: "messages", Code: "context_length_exceeded"}, nil},
		{"openai null code", `{"error":{"message":"m","type":"server_error","param":null,"code":null}}`, ErrorBody{Message: "m", Type: "server_error"}, nil},
		{"anthropic", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, ErrorBody{Message: "Overloaded", Type: "overloaded_error"}, nil},
		{"gemini", `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}`,
			ErrorBody{Message: "Quota exceeded", Code: "429", Status: "RESOURCE_EXHAUSTED", Details: []byte(`[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]`)}, nil},
		{"gemini array", `[{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}]`, ErrorBody{Message: "busy", Code: "503", Status: "UNAVAILABLE"}, nil},
		{"string error", `{"error":"model not loaded"}`, ErrorBody{Message: "model not loaded"}, nil},
		{"fastapi detail", `{"detail":"Not Found"}`, ErrorBody{Message: "Not Found"}, nil},
		{"vllm", `{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}`, ErrorBody{Message: "bad", Type: "BadRequestError", Code: "400"}, nil},
		{"bom and space", "\xEF\xBB\xBF  {\"error\":{\"message\":\"x\"}}\n", ErrorBody{Message: "x"}, nil},
		{"empty", "  ", ErrorBody{}, ErrEmptyBody},
		{"html", "<html><head><title>502 Bad Gateway</title></head></html>", ErrorBody{}, ErrNotJSON},
		{"text", "upstream connect error", ErrorBody{}, ErrNotJSON},
		{"truncated", `{"error":{"message":"Rate limit reached for`, ErrorBody{}, ErrTruncatedJSON},
		{"truncated after key", `{"error":`, ErrorBody{}, ErrTruncatedJSON},
		{"malformed", `{"error":}`, ErrorBody{}, ErrMalformedJSON},
		{"unrelated json", `{"ok":true}`, ErrorBody{}, ErrMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseErrorBody([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseErrorBody err = %v, want %v", err, tt.err)
			}
			if got.Message != tt.want.Message || got.Type != tt.want.Type || got.Code != tt.want.Code ||
				got.Param != tt.want.Param || got.Status != tt.want.Status || !bytes.Equal(got.Details, tt.want.Details) {
				t.Fatalf("ParseErrorBody = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFromResponse(t *testing.T) {
	tab := NewErrorTable("openai", nil, nil)
	tests := []struct {
		name      string
		status    int
		h         http.Header
		body      string
		truncated bool
		code      runners.Code
		retryMs   int64
		contains  []string
	}{
		{"400", 400, nil, `{"error":{"message":"bad param","type":"invalid_request_error","param":"x","code":null}}`, false, runners.CodeBadRequest, 0, []string{"openai: HTTP 400: bad param", "type=invalid_request_error"}},
		{"400 context code", 400, nil, `{"error":{"message":"too long","type":"invalid_request_error","code":"context_length_exceeded"}}`, false, runners.CodeContextLengthExceeded, 0, nil},
		{"400 context prose", 400, nil, `{"error":{"message":"prompt is too long: 210000 tokens > 200000 maximum"}}`, false, runners.CodeContextLengthExceeded, 0, nil},
		{"400 content filter", 400, nil, `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`, false, runners.CodeContentFiltered, 0, nil},
		{"401", 401, nil, `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefgh************************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, false, runners.CodeUnauthorized, 0, []string{"[redacted]"}},
		{"403", 403, nil, `{"error":{"message":"Country not supported","code":"unsupported_country_region_territory"}}`, false, runners.CodeForbidden, 0, nil},
		{"404", 404, nil, `{"error":{"message":"The model 'gpt-9' does not exist","type":"invalid_request_error","code":"model_not_found"}}`, false, runners.CodeNotFound, 0, nil},
		{"408", 408, nil, `{"error":{"message":"timeout"}}`, false, runners.CodeTimeout, 0, nil},
		{"409", 409, nil, `{"error":{"message":"conflict"}}`, false, runners.CodeServerError, 0, nil},
		{"413", 413, nil, `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`, false, runners.CodeBadRequest, 0, nil},
		{"422", 422, nil, `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`, false, runners.CodeBadRequest, 0, []string{"field required"}},
		{"429 retry-after", 429, hdr("Retry-After", "20"), `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, false, runners.CodeRateLimited, 20000, nil},
		{"429 quota", 429, nil, `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}`, false, runners.CodeBudgetExceeded, 0, nil},
		{"500", 500, nil, `{"error":{"message":"The server had an error","type":"server_error"}}`, false, runners.CodeServerError, 0, nil},
		{"503 retry-after", 503, hdr("Retry-After", "2"), `{"error":{"message":"busy"}}`, false, runners.CodeServerError, 2000, nil},
		{"529 overloaded", 529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, false, runners.CodeServerError, 0, nil},
		{"html 502", 502, hdr("Content-Type", "text/html; charset=utf-8"), "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", false, runners.CodeServerError, 0, []string{"non-JSON error body (text/html)", `HTML page titled "502 Bad Gateway"`}},
		{"html 403 waf", 403, hdr("Content-Type", "text/html"), "<!DOCTYPE html><html><body>Access denied</body></html>", false, runners.CodeForbidden, 0, []string{"HTML page"}},
		{"truncated", 500, nil, `{"error":{"message":"Internal`, false, runners.CodeServerError, 0, []string{"truncated JSON error body"}},
		{"oversize", 400, nil, `{"error":{"message":"` + strings.Repeat("a", MaxErrorBody), true, runners.CodeBadRequest, 0, []string{"over 64 KiB"}},
		{"empty", 503, nil, ``, false, runners.CodeServerError, 0, []string{"empty error body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			if h == nil {
				h = http.Header{}
			}
			e := tab.FromResponse(tt.status, h, []byte(tt.body), tt.truncated, now, "sk-secret-value")
			if e.GetCode() != tt.code || e.GetRetryAfterMs() != tt.retryMs || e.GetHttpStatus() != int32(tt.status) || e.GetProvider() != "openai" {
				t.Fatalf("FromResponse = %v (code %v, retry %d, status %d); want code %v retry %d", e, e.GetCode(), e.GetRetryAfterMs(), e.GetHttpStatus(), tt.code, tt.retryMs)
			}
			for _, c := range tt.contains {
				if !strings.Contains(e.GetMessage(), c) {
					t.Errorf("message %q does not contain %q", e.GetMessage(), c)
				}
			}
			if len(e.GetMessage()) > 1200 {
				t.Errorf("message is %d bytes long", len(e.GetMessage()))
			}
		})
	}
}

func TestProviderOverrides(t *testing.T) {
	tab := NewErrorTable("anthropic", map[int]runners.Code{529: runners.CodeServerError, 413: runners.CodeContextLengthExceeded},
		map[string]runners.Code{"Overloaded_Error": runners.CodeRateLimited})
	if got := tab.FromResponse(413, http.Header{}, []byte(`{}`), false, now).GetCode(); got != runners.CodeContextLengthExceeded {
		t.Errorf("413 = %v, want context_length_exceeded", got)
	}
	e := tab.FromBody(0, ErrorBody{Type: "overloaded_error", Message: "Overloaded"})
	if e.GetCode() != runners.CodeRateLimited || !strings.Contains(e.GetMessage(), "error in stream") {
		t.Errorf("in-stream overloaded = %v", e)
	}
	// A numeric body code stands in for the status of an in-stream error.
	if got := tab.FromBody(0, ErrorBody{Code: "429", Message: "slow down"}).GetCode(); got != runners.CodeRateLimited {
		t.Errorf("in-stream 429 = %v", got)
	}
	if got := tab.FromBody(0, ErrorBody{Message: "weird"}).GetCode(); got != runners.CodeServerError {
		t.Errorf("in-stream unknown = %v", got)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	const key = "my-very-secret-key-123"
	tab := NewErrorTable("openai", nil, nil)
	for _, body := range []string{
		`{"error":{"message":"bad key my-very-secret-key-123"}}`,
		`<html><title>key my-very-secret-key-123</title></html>`,
		`key my-very-secret-key-123`,
		`{"error":{"message":"Authorization: Bearer abcdefghijklmnop rejected; also AIzaSyA1234567890abcdef"}}`,
	} {
		e := tab.FromResponse(401, http.Header{}, []byte(body), false, now, key)
		for _, bad := range []string{key, "abcdefghijklmnop", "AIzaSyA1234567890abcdef"} {
			if strings.Contains(e.Error(), bad) {
				t.Errorf("error %q leaks %q", e.Error(), bad)
			}
		}
	}
}

func TestSanitize(t *testing.T) {
	got := Sanitize("a\x00b\n\n  c\xff"+strings.Repeat("é", 20), 10)
	if got != "a b cééééé…" {
		t.Fatalf("Sanitize = %q", got)
	}
}

func FuzzErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"error":{"message":"m","type":"t","param":null,"code":"c"}}`,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		`[{"error":{"code":429,"message":"q","status":"RESOURCE_EXHAUSTED","details":[]}}]`,
		`{"error":"x"}`, `{"detail":[1,2]}`, `<html><title>t</title>`, `{"error":{"message":"tr`, `[]`, `[1]`, `{"error":[]}`,
	} {
		f.Add([]byte(s), 400)
	}
	tab := NewErrorTable("fuzz", nil, nil)
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		eb, err := ParseErrorBody(body)
		if err != nil && !errors.Is(err, ErrEmptyBody) && !errors.Is(err, ErrNotJSON) && !errors.Is(err, ErrTruncatedJSON) && !errors.Is(err, ErrMalformedJSON) {
			t.Fatalf("unexpected error %v", err)
		}
		if err != nil && (eb.Message != "" || eb.Code != "" || eb.Details != nil) {
			t.Fatalf("error with non-empty body %+v", eb)
		}
		e := tab.FromResponse(status, http.Header{}, body, false, now, "SECRETSECRET")
		if e == nil || e.GetCode() == messages.ErrorCode_ERROR_CODE_UNSPECIFIED {
			t.Fatalf("FromResponse(%d) = %v", status, e)
		}
		if strings.Contains(e.GetMessage(), "SECRETSECRET") {
			t.Fatalf("secret leaked: %q", e.GetMessage())
		}
		if len(e.GetMessage()) > 2000 {
			t.Fatalf("message too long: %d", len(e.GetMessage()))
		}
	})
}
