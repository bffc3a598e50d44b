package anthropic

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"google.golang.org/protobuf/proto"
)

func text(role messages.Role, s string) *messages.ChatMessage {
	return &messages.ChatMessage{Role: role, Content: s}
}

// requestCases are the batches whose mapped request bodies are kept as
// golden files (request_<name>.json).
func requestCases() map[string]*messages.ExecuteBatch {
	return map[string]*messages.ExecuteBatch{
		"basic": {
			Model: "claude", User: "user-42",
			Messages: []*messages.ChatMessage{
				text(messages.Role_ROLE_SYSTEM, "You are terse."),
				text(messages.Role_ROLE_SYSTEM, "Answer in English."),
				text(messages.Role_ROLE_USER, "Hello"),
				text(messages.Role_ROLE_ASSISTANT, "Hi."),
				text(messages.Role_ROLE_USER, "Name a colour."),
			},
			Sampling: &messages.Sampling{
				Temperature: proto.Float32(0.7), TopP: proto.Float32(0.75), TopK: proto.Int32(40),
				MaxTokens: 256, Stop: []string{"\n\nHuman:", "END"},
				PresencePenalty: proto.Float32(1), Seed: proto.Int64(7), // not in the Messages API: dropped
			},
		},
		"default_max_tokens_stream": {
			Model: "claude", Stream: true,
			Messages: []*messages.ChatMessage{text(messages.Role_ROLE_USER, "Hi")},
		},
		"tools": {
			Model: "claude",
			Messages: []*messages.ChatMessage{
				text(messages.Role_ROLE_USER, "Weather in Paris and Rome?"),
				{Role: messages.Role_ROLE_ASSISTANT, Content: "Checking both.", ToolCalls: []*messages.ToolCall{
					{Id: "toolu_01", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{Id: "toolu_02", Type: "function", Name: "get_weather", Arguments: `{"city":"Rome"}`},
				}},
				{Role: messages.Role_ROLE_TOOL, ToolCallId: "toolu_01", Content: "18C, clear"},
				{Role: messages.Role_ROLE_TOOL, ToolCallId: "toolu_02", Content: "24C, sunny"},
				text(messages.Role_ROLE_USER, "Which is warmer?"),
			},
			ToolsJson: []byte(`[{"type":"function","function":{"name":"get_weather","description":"Current weather",
				"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
				{"type":"function","function":{"name":"now"}},
				{"type":"web_search_20250305","name":"web_search","max_uses":2}]`),
			ToolChoiceJson: []byte(`{"type":"function","function":{"name":"get_weather"}}`),
		},
		"images": {
			Model: "claude",
			Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
				{Part: &messages.ContentPart_Text{Text: "Compare these."}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Data: []byte("\x89PNG\r\n\x1a\n0000"), MediaType: "image/png"}}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "data:image/jpeg;base64,/9j/4AAQ"}}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "https://example.com/cat.webp"}}},
			}}},
			ToolChoiceJson: []byte(`"required"`), // no tools: dropped
		},
	}
}

func TestBuildRequestGolden(t *testing.T) {
	for name, b := range requestCases() {
		t.Run(name, func(t *testing.T) {
			req, err := buildRequest(b, "claude-sonnet-4-20250514", 0)
			if err != nil {
				t.Fatalf("buildRequest = %v", err)
			}
			got, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "request_"+name+".json", got)
		})
	}
}

func TestBuildRequestMaxTokens(t *testing.T) {
	b := &messages.ExecuteBatch{Messages: []*messages.ChatMessage{text(messages.Role_ROLE_USER, "x")}}
	for _, tc := range []struct {
		cfg, req, want int
	}{{0, 0, DefaultMaxTokens}, {1000, 0, 1000}, {1000, 50, 50}} {
		b.Sampling = &messages.Sampling{MaxTokens: int32(tc.req)}
		r, err := buildRequest(b, "m", tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.MaxTokens != tc.want {
			t.Errorf("max_tokens(config %d, request %d) = %d, want %d", tc.cfg, tc.req, r.MaxTokens, tc.want)
		}
	}
}

func TestBuildRequestRefuses(t *testing.T) {
	user := text(messages.Role_ROLE_USER, "x")
	for name, tc := range map[string]struct {
		b    *messages.ExecuteBatch
		code runners.Code
	}{
		"no messages": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{text(messages.Role_ROLE_SYSTEM, "s")}}, runners.CodeBadRequest},
		"tool without id": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user,
			{Role: messages.Role_ROLE_TOOL, Content: "r"}}}, runners.CodeBadRequest},
		"arguments not an object": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user,
			{Role: messages.Role_ROLE_ASSISTANT, ToolCalls: []*messages.ToolCall{{Id: "a", Name: "f", Arguments: "[1]"}}}}}, runners.CodeBadRequest},
		"bad data url": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
			{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "data:image/png,raw"}}}}}}}, runners.CodeBadRequest},
		"ftp image": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
			{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "ftp://x/y.png"}}}}}}}, runners.CodeBadRequest},
		"json schema": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user},
			ResponseFormatJson: []byte(`{"type":"json_schema","json_schema":{}}`)}, runners.CodeUnsupported},
		"tools not array":   {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolsJson: []byte(`{}`)}, runners.CodeBadRequest},
		"unknown tool":      {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolsJson: []byte(`[{"type":"retrieval"}]`)}, runners.CodeUnsupported},
		"unnamed function":  {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolsJson: []byte(`[{"type":"function","function":{}}]`)}, runners.CodeBadRequest},
		"bad tool_choice":   {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolChoiceJson: []byte(`"sometimes"`)}, runners.CodeBadRequest},
		"choice no name":    {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolChoiceJson: []byte(`{"type":"function"}`)}, runners.CodeBadRequest},
		"choice weird type": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolChoiceJson: []byte(`{"type":"maybe"}`)}, runners.CodeBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := buildRequest(tc.b, "m", 0)
			var e *messages.Error
			if !errors.As(err, &e) || e.GetCode() != tc.code {
				t.Fatalf("buildRequest = %v, want code %s", err, tc.code.Slug())
			}
		})
	}
}

func TestToolChoice(t *testing.T) {
	for in, want := range map[string]string{
		`"auto"`: `{"type":"auto"}`, `"required"`: `{"type":"any"}`, `"none"`: `{"type":"none"}`,
		`{"type":"function","function":{"name":"f"}}`:     `{"type":"tool","name":"f"}`,
		`{"type":"tool","name":"g"}`:                      `{"type":"tool","name":"g"}`,
		`{"type":"any","disable_parallel_tool_use":true}`: `{"type":"any","disable_parallel_tool_use":true}`,
		`null`: `null`,
	} {
		tc, err := translateToolChoice([]byte(in))
		if err != nil {
			t.Fatalf("translateToolChoice(%s) = %v", in, err)
		}
		got, _ := json.Marshal(tc)
		if string(got) != want {
			t.Errorf("translateToolChoice(%s) = %s, want %s", in, got, want)
		}
	}
}
