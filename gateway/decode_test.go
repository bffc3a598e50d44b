package gateway

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// The reference decoder: encoding/json into the same structs, and the same
// validation. The hand-written decoder must agree with it on every input.

var stdValues = valueDecoder{
	str: func(raw []byte) (string, bool) {
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	},
	parts: func(raw []byte) ([]wirePart, bool) {
		var p []wirePart
		return p, json.Unmarshal(raw, &p) == nil
	},
	stop: func(raw []byte) ([]string, bool) {
		if raw[0] == '"' {
			var s string
			err := json.Unmarshal(raw, &s)
			return []string{s}, err == nil
		}
		var l []string
		return l, json.Unmarshal(raw, &l) == nil
	},
}

func decodeChatRequestStd(body []byte) (*decodedRequest, *apiError) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, &apiError{status: 400, typ: typeInvalidRequest, code: "invalid_type", param: te.Field}
		}
		return nil, errInvalidJSON
	}
	return req.toBatch(&stdValues)
}

// compareDecoders fails t when the two decoders disagree on body.
func compareDecoders(t *testing.T, body []byte) {
	t.Helper()
	got, gerr := decodeChatRequest(body)
	want, werr := decodeChatRequestStd(body)
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("decoders disagree on %q:\nhand: %+v %v\nstd:  %+v %v", body, got, gerr, want, werr)
	case gerr != nil:
		if gerr.code != werr.code {
			t.Fatalf("decoders disagree on %q: hand %s (%s), std %s (%s)", body, gerr.code, gerr.param, werr.code, werr.param)
		}
		if gerr.code != "invalid_type" && gerr.code != "invalid_json" && (gerr.param != werr.param || gerr.message != werr.message) {
			t.Fatalf("decoders disagree on %q: hand %+v, std %+v", body, gerr, werr)
		}
		if gerr.code == "invalid_type" && stripIndices(gerr.param) != stripIndices(werr.param) {
			t.Fatalf("decoders disagree on %q: type error at %s (hand) and %s (std)", body, gerr.param, werr.param)
		}
	default:
		if !proto.Equal(got.batch, want.batch) || got.stream != want.stream || got.includeUsage != want.includeUsage {
			t.Fatalf("decoders disagree on %q:\nhand: %v %v %v\nstd:  %v %v %v", body,
				got.batch, got.stream, got.includeUsage, want.batch, want.stream, want.includeUsage)
		}
	}
}

// stripIndices turns messages[1].tool_calls[0].id into messages.tool_calls.id,
// as encoding/json names fields.
func stripIndices(p string) string {
	var b strings.Builder
	depth := 0
	for _, c := range p {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

var decoderCorpus = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a\u00e9\ud83d\ude00\ud800x"},{"type":"image_url","image_url":{"url":"data:image/png;base64,aGk=","detail":"low"}}]}],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[{"type":"function"}],"tool_choice":{"type":"function"},"response_format":{"type":"json_object"}}`,
	`{"MODEL":"m","Messages":[{"ROLE":"system","Content":"s"}],"Stop":["a",null,""],"TEMPERATURE":1e0,"top_p":0.5,"top_k":1,"seed":-9223372036854775808,"n":1,"max_tokens":1,"max_completion_tokens":2147483647}`,
	`{"model":"m","messages":[{"role":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot","top_k":1.5}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"seed":1e3}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1e400}`,
	`{"model":"m","model":"n","messages":[{"role":"user","content":"a"}],"messages":[{"content":"b"}]}`,
	`{"model":"m","messages":[null,{"role":"user","content":"\"\\\/\b\f\n\r\t"}],"stream":null,"stream_options":null}`,
	`{"model":"m","messages":[],"x":[1,{"y":[true,false,null,-0.5e-3]}]}`,
	"{\"model\":\"m\xff\",\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}",
	`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"\ud83d"}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}]} x`,
	`{"model":"m",}`, `{"model" "m"}`, `[1]`, `"s"`, `null`, ` `, `{}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":"\x01"}`, `{"a":"\u12"}`,
}

func TestDecoderMatchesEncodingJSON(t *testing.T) {
	for _, s := range decoderCorpus {
		compareDecoders(t, []byte(s))
	}
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	compareDecoders(t, []byte(`{"x":`+deep+`}`))
	ok := strings.Repeat("[", 9999) + strings.Repeat("]", 9999)
	compareDecoders(t, []byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"x":`+ok+`}`))
}

// FuzzDecoderMatchesEncodingJSON holds the hand-written decoder to
// encoding/json's behaviour on arbitrary input.
func FuzzDecoderMatchesEncodingJSON(f *testing.F) {
	for _, s := range decoderCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		compareDecoders(t, body)
	})
}

func TestParseNumbers(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "0.7", "-2.5", "0.1", "123456789012345", "1234567890123456789",
		"0.000000000000000000000001", "1e-7", "3.141592653589793", "2.2250738585072014e-308", "9007199254740993", "1.7976931348623157e308"} {
		got, ok := parseFloat([]byte(s))
		want, err := jsonFloat(s)
		if !ok || err != nil || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseFloat(%s) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, tc := range []struct {
		s  string
		v  int64
		ok bool
	}{{"0", 0, true}, {"-0", 0, true}, {"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false}, {"1.0", 0, false}, {"1e2", 0, false}, {"99999999999999999999", 0, false}} {
		if v, ok := parseInt([]byte(tc.s)); v != tc.v || ok != tc.ok {
			t.Errorf("parseInt(%s) = %d, %v; want %d, %v", tc.s, v, ok, tc.v, tc.ok)
		}
	}
}

func jsonFloat(s string) (float64, error) {
	var f float64
	return f, json.Unmarshal([]byte(s), &f)
}

// BenchmarkDecodeChatRequestStd is the encoding/json reference, for
// comparison with BenchmarkDecodeChatRequest.
func BenchmarkDecodeChatRequestStd(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for b.Loop() {
		if _, err := decodeChatRequestStd(benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}
