package gateway

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/actorinfer/actorinfer/messages"
)

func TestDecodeChatRequest(t *testing.T) {
	body := `{
		"model": "gpt-4o-mini",
		"messages": [
			{"role": "developer", "content": "be brief"},
			{"role": "user", "name": "ann", "content": [
				{"type": "text", "text": "what is \"this\"?"},
				{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K", "detail": "low"}},
				{"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
			]},
			{"role": "assistant", "content": null, "tool_calls": [
				{"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"q\":1}"}}
			]},
			{"role": "tool", "tool_call_id": "call_1", "content": "a cat"}
		],
		"temperature": 0.5, "top_p": 0.9, "top_k": 40,
		"max_tokens": 10, "max_completion_tokens": 20,
		"stop": ["\n\n", "END"],
		"presence_penalty": 0.1, "frequency_penalty": -0.2, "seed": 7, "n": 1,
		"stream": true, "stream_options": {"include_usage": true},
		"tools": [{"type": "function", "function": {"name": "look"}}],
		"tool_choice": "auto",
		"response_format": {"type": "json_object"},
		"user": "u-1",
		"unknown_field": {"ignored": true}
	}`
	d, err := decodeChatRequest([]byte(body))
	if err != nil {
		t.Fatalf("decodeChatRequest: %v", err)
	}
	b := d.batch
	if !d.stream || !d.includeUsage || !b.GetStream() {
		t.Errorf("stream, includeUsage = %v, %v; want true, true", d.stream, d.includeUsage)
	}
	if b.GetModel() != "gpt-4o-mini" || b.GetUser() != "u-1" {
		t.Errorf("model, user = %q, %q", b.GetModel(), b.GetUser())
	}
	s := b.GetSampling()
	if s.GetTemperature() != 0.5 || s.GetTopP() != 0.9 || s.GetTopK() != 40 || s.GetMaxTokens() != 20 ||
		s.GetSeed() != 7 || s.GetPresencePenalty() != 0.1 || s.GetFrequencyPenalty() != -0.2 {
		t.Errorf("sampling = %v", s)
	}
	if got := strings.Join(s.GetStop(), "|"); got != "\n\n|END" {
		t.Errorf("stop = %q", got)
	}
	if len(b.GetMessages()) != 4 {
		t.Fatalf("messages = %d, want 4", len(b.GetMessages()))
	}
	m0, m1, m2, m3 := b.Messages[0], b.Messages[1], b.Messages[2], b.Messages[3]
	if m0.GetRole() != messages.Role_ROLE_SYSTEM || m0.GetContent() != "be brief" {
		t.Errorf("messages[0] = %v", m0)
	}
	if m1.GetRole() != messages.Role_ROLE_USER || m1.GetName() != "ann" || len(m1.GetParts()) != 3 {
		t.Fatalf("messages[1] = %v", m1)
	}
	if got := m1.Parts[0].GetText(); got != `what is "this"?` {
		t.Errorf("text part = %q", got)
	}
	img := m1.Parts[1].GetImage()
	if img.GetMediaType() != "image/png" || !bytes.Equal(img.GetData(), []byte{0x89, 'P', 'N', 'G', '\r', '\n'}) || img.GetDetail() != "low" {
		t.Errorf("data image = %v", img)
	}
	if got := m1.Parts[2].GetImage().GetUrl(); got != "https://example.com/cat.jpg" {
		t.Errorf("url image = %q", got)
	}
	if len(m2.GetToolCalls()) != 1 || m2.ToolCalls[0].GetName() != "look" || m2.ToolCalls[0].GetArguments() != `{"q":1}` {
		t.Errorf("messages[2] = %v", m2)
	}
	if m3.GetRole() != messages.Role_ROLE_TOOL || m3.GetToolCallId() != "call_1" || m3.GetContent() != "a cat" {
		t.Errorf("messages[3] = %v", m3)
	}
	if string(b.GetToolsJson()) != `[{"type": "function", "function": {"name": "look"}}]` ||
		string(b.GetToolChoiceJson()) != `"auto"` || string(b.GetResponseFormatJson()) != `{"type": "json_object"}` {
		t.Errorf("raw json = %s / %s / %s", b.GetToolsJson(), b.GetToolChoiceJson(), b.GetResponseFormatJson())
	}
	if b.GetEstimatedTokens() <= 20 {
		t.Errorf("estimated tokens = %d, want > max_tokens", b.GetEstimatedTokens())
	}
}

func TestDecodeChatRequestDefaults(t *testing.T) {
	d, err := decodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":"x","max_tokens":5}`))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	s := d.batch.GetSampling()
	if d.stream || s.Temperature != nil || s.TopK != nil || s.Seed != nil || s.GetMaxTokens() != 5 {
		t.Errorf("defaults: stream %v sampling %v", d.stream, s)
	}
	if len(s.GetStop()) != 1 || s.Stop[0] != "x" {
		t.Errorf("stop = %q, want [x]", s.GetStop())
	}
}

func TestDecodeChatRequestErrors(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body, param, code string
	}{
		{"not json", `{"model":`, "", "invalid_json"},
		{"not an object", `[1,2]`, "", "invalid_json"},
		{"no model", `{` + msgs + `}`, "model", "missing_required_parameter"},
		{"no messages", `{"model":"m"}`, "messages", "missing_required_parameter"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", "missing_required_parameter"},
		{"bad role", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"robot","content":"x"}]}`, "messages[1].role", "invalid_value"},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, "messages[0].role", "missing_required_parameter"},
		{"role type", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":5}]}`, "messages[1].role", "invalid_type"},
		{"temperature type", `{"model":"m",` + msgs + `,"temperature":"hot"}`, "temperature", "invalid_type"},
		{"temperature range", `{"model":"m",` + msgs + `,"temperature":2.5}`, "temperature", "invalid_value"},
		{"top_p range", `{"model":"m",` + msgs + `,"top_p":-0.1}`, "top_p", "invalid_value"},
		{"top_k negative", `{"model":"m",` + msgs + `,"top_k":-1}`, "top_k", "invalid_value"},
		{"n two", `{"model":"m",` + msgs + `,"n":2}`, "n", "unsupported_value"},
		{"n zero", `{"model":"m",` + msgs + `,"n":0}`, "n", "invalid_value"},
		{"max_tokens zero", `{"model":"m",` + msgs + `,"max_tokens":0}`, "max_tokens", "invalid_value"},
		{"max_completion_tokens huge", `{"model":"m",` + msgs + `,"max_completion_tokens":99999999999}`, "max_completion_tokens", "invalid_value"},
		{"penalty", `{"model":"m",` + msgs + `,"presence_penalty":3}`, "presence_penalty", "invalid_value"},
		{"stop type", `{"model":"m",` + msgs + `,"stop":5}`, "stop", "invalid_value"},
		{"stop too many", `{"model":"m",` + msgs + `,"stop":["a","b","c","d","e"]}`, "stop", "invalid_value"},
		{"content missing", `{"model":"m","messages":[{"role":"user"}]}`, "messages[0].content", "missing_required_parameter"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content", "invalid_value"},
		{"part type", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages[0].content[0].type", "unsupported_value"},
		{"part no text", `{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}`, "messages[0].content[0].text", "missing_required_parameter"},
		{"image no url", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}}]}]}`, "messages[0].content[1].image_url.url", "missing_required_parameter"},
		{"image scheme", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`, "messages[0].content[0].image_url.url", "invalid_value"},
		{"image base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!!"}}]}]}`, "messages[0].content[0].image_url.url", "invalid_value"},
		{"image media type", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:text/html;base64,aGk="}}]}]}`, "messages[0].content[0].image_url.url", "invalid_value"},
		{"image detail", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"ultra"}}]}]}`, "messages[0].content[0].image_url.detail", "invalid_value"},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", "missing_required_parameter"},
		{"tool_calls on user", `{"model":"m","messages":[{"role":"user","content":"x","tool_calls":[{"id":"a","function":{"name":"f"}}]}]}`, "messages[0].tool_calls", "invalid_value"},
		{"tool call no name", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a","function":{}}]}]}`, "messages[0].tool_calls[0].function.name", "invalid_value"},
		{"tools object", `{"model":"m",` + msgs + `,"tools":{}}`, "tools", "invalid_value"},
		{"response_format string", `{"model":"m",` + msgs + `,"response_format":"json"}`, "response_format", "invalid_value"},
		{"long model", `{"model":"` + strings.Repeat("m", 300) + `",` + msgs + `}`, "model", "invalid_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeChatRequest([]byte(tt.body))
			if err == nil {
				t.Fatalf("decodeChatRequest(%s) = nil error, want param %q", tt.body, tt.param)
			}
			if err.status != 400 || err.typ != typeInvalidRequest || err.param != tt.param || err.code != tt.code {
				t.Errorf("decodeChatRequest(%s) = %d %s param %q code %q; want 400 %s param %q code %q",
					tt.body, err.status, err.typ, err.param, err.code, typeInvalidRequest, tt.param, tt.code)
			}
			if err.message == "" {
				t.Errorf("empty message")
			}
		})
	}
}

// FuzzChatRequest checks that the decoder never panics, answers every input
// with a batch or a 400 naming a parameter or the body, and that a batch it
// accepts is well formed.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:image/png;base64,aGk="}}]}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[],"tool_choice":{"type":"function"}}`,
		`{"model":"m","messages":[{"role":"system","content":"s\u2028"}],"stop":["a"],"temperature":1,"top_p":1,"top_k":1,"seed":-1,"n":1}`,
		`{"model":"m","messages":[{"role":5}]}`,
		`[]`, `null`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decodeChatRequest(body)
		if err != nil {
			if d != nil || err.status != 400 || err.message == "" || err.typ != typeInvalidRequest {
				t.Fatalf("decodeChatRequest(%q) = %v, %+v", body, d, err)
			}
			return
		}
		b := d.batch
		if b.GetModel() == "" || len(b.GetMessages()) == 0 || b.GetSampling() == nil {
			t.Fatalf("accepted a malformed batch from %q: %v", body, b)
		}
		for i, m := range b.GetMessages() {
			if m.GetRole() == messages.Role_ROLE_UNSPECIFIED {
				t.Fatalf("messages[%d] has no role (from %q)", i, body)
			}
		}
		if d.stream != b.GetStream() {
			t.Fatalf("stream flag lost")
		}
	})
}

var benchRequest = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Write a haiku about the sea, and explain the syllable count of each line."}],"temperature":0.7,"max_tokens":256,"stream":false}`)

func BenchmarkDecodeChatRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRequest)))
	for b.Loop() {
		if _, err := decodeChatRequest(benchRequest); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzAppendString checks the hand-written string encoder against
// encoding/json: whatever it writes decodes back to the input (with
// invalid UTF-8 replaced, as encoding/json does).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "\n\r\t\x00\x1f", "é😀", "\u2028\u2029", "\xff\xfe", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte; compare with its own encoding.
			ref, _ := json.Marshal(s)
			_ = json.Unmarshal(ref, &want)
		}
		if got != want {
			t.Fatalf("appendString(%q) decodes to %q, want %q", s, got, want)
		}
	})
}
