package gemini

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
			Messages: []*messages.ChatMessage{
				text(messages.Role_ROLE_SYSTEM, "You are terse."),
				text(messages.Role_ROLE_USER, "Hello"),
				text(messages.Role_ROLE_ASSISTANT, "Hi."),
				text(messages.Role_ROLE_USER, "Name a colour."),
			},
			Sampling: &messages.Sampling{
				Temperature: proto.Float32(0.7), TopP: proto.Float32(0.9), TopK: proto.Int32(40),
				MaxTokens: 256, Stop: []string{"END"}, Seed: proto.Int64(42),
				PresencePenalty: proto.Float32(0.5), FrequencyPenalty: proto.Float32(0.25),
			},
		},
		"tools": {
			Messages: []*messages.ChatMessage{
				text(messages.Role_ROLE_USER, "Weather in Paris and Rome?"),
				{Role: messages.Role_ROLE_ASSISTANT, ToolCalls: []*messages.ToolCall{
					{Id: "call_0__thought__CiQBVKhc7nY2", Type: "function", Name: "get_weather", Arguments: `{"city":"Paris"}`},
					{Id: "call_1", Type: "function", Name: "get_weather", Arguments: `{"city":"Rome"}`},
				}},
				{Role: messages.Role_ROLE_TOOL, ToolCallId: "call_0__thought__CiQBVKhc7nY2", Content: `{"temp_c":18}`},
				{Role: messages.Role_ROLE_TOOL, ToolCallId: "call_1", Content: "24C, sunny"},
			},
			ToolsJson: []byte(`[{"type":"function","function":{"name":"get_weather","description":"Current weather",
				"parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
				"properties":{"city":{"type":"string"},"unit":{"type":["string","null"],"enum":["c","f",null]}},"required":["city"]}}},
				{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}},
				{"googleSearch":{}}]`),
			ToolChoiceJson: []byte(`{"type":"function","function":{"name":"get_weather"}}`),
		},
		"images_json": {
			Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
				{Part: &messages.ContentPart_Text{Text: "Describe as JSON."}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Data: []byte("\x89PNG\r\n\x1a\n0000")}}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "data:image/jpeg;base64,/9j/4AAQ"}}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "gs://bucket/cat.png"}}},
				{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "https://example.com/photo?id=3", MediaType: "image/webp"}}},
			}}},
			ResponseFormatJson: []byte(`{"type":"json_schema","json_schema":{"name":"d","strict":true,"schema":{"type":"object",
				"properties":{"objects":{"type":"array","items":{"type":"string"}}},"required":["objects"],"additionalProperties":false}}}`),
		},
	}
}

func TestBuildRequestGolden(t *testing.T) {
	for name, b := range requestCases() {
		t.Run(name, func(t *testing.T) {
			req, err := buildRequest(b, 0)
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
	for _, tc := range []struct{ cfg, req, want int }{{0, 0, 0}, {1000, 0, 1000}, {1000, 50, 50}} {
		b.Sampling = &messages.Sampling{MaxTokens: int32(tc.req)}
		r, err := buildRequest(b, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		if r.GenerationConfig != nil {
			got = r.GenerationConfig.MaxOutputTokens
		}
		if got != tc.want {
			t.Errorf("maxOutputTokens(config %d, request %d) = %d, want %d", tc.cfg, tc.req, got, tc.want)
		}
	}
}

func TestBuildRequestRefuses(t *testing.T) {
	user := text(messages.Role_ROLE_USER, "x")
	for name, tc := range map[string]struct {
		b    *messages.ExecuteBatch
		code runners.Code
	}{
		"no messages":       {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{text(messages.Role_ROLE_SYSTEM, "s")}}, runners.CodeBadRequest},
		"unknown tool call": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user, {Role: messages.Role_ROLE_TOOL, ToolCallId: "zz", Content: "r"}}}, runners.CodeBadRequest},
		"arguments not an object": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user,
			{Role: messages.Role_ROLE_ASSISTANT, ToolCalls: []*messages.ToolCall{{Id: "a", Name: "f", Arguments: "3"}}}}}, runners.CodeBadRequest},
		"url without type": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
			{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "https://x/y?sig=secret"}}}}}}}, runners.CodeBadRequest},
		"bad data url": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Parts: []*messages.ContentPart{
			{Part: &messages.ContentPart_Image{Image: &messages.Image{Url: "data:,x"}}}}}}}, runners.CodeBadRequest},
		"format":          {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ResponseFormatJson: []byte(`{"type":"grammar"}`)}, runners.CodeUnsupported},
		"tool type":       {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolsJson: []byte(`[{"type":"retrieval"}]`)}, runners.CodeUnsupported},
		"bad tool_choice": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolChoiceJson: []byte(`"often"`)}, runners.CodeBadRequest},
		"undeclared choice": {&messages.ExecuteBatch{Messages: []*messages.ChatMessage{user}, ToolsJson: []byte(`[{"type":"function","function":{"name":"a"}}]`),
			ToolChoiceJson: []byte(`{"type":"function","function":{"name":"b"}}`)}, runners.CodeBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := buildRequest(tc.b, 0)
			var e *messages.Error
			if !errors.As(err, &e) || e.GetCode() != tc.code {
				t.Fatalf("buildRequest = %v, want code %s", err, tc.code.Slug())
			}
		})
	}
}

func TestToolChoice(t *testing.T) {
	for in, want := range map[string]string{
		`"auto"`: `{"functionCallingConfig":{"mode":"AUTO"}}`, `"required"`: `{"functionCallingConfig":{"mode":"ANY"}}`,
		`"none"`: `{"functionCallingConfig":{"mode":"NONE"}}`,
		`{"type":"function","function":{"name":"f"}}`: `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`,
	} {
		tc, err := translateToolChoice([]byte(in), nil)
		if err != nil {
			t.Fatalf("translateToolChoice(%s) = %v", in, err)
		}
		got, _ := json.Marshal(tc)
		if string(got) != want {
			t.Errorf("translateToolChoice(%s) = %s, want %s", in, got, want)
		}
	}
}
