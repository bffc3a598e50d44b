package anthropic

import (
	"bytes"
	"encoding/json"

	"github.com/actorinfer/actorinfer/runners"
)

// openAITool is an OpenAI-style tool: {"type":"function","function":{...}}.
type openAITool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
	// Anthropic-shaped tools (client tools with input_schema, or server
	// tools such as web_search) are recognised by these fields.
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// emptySchema is the input_schema of a function declared without parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// translateTools maps the batch's OpenAI-style tools array onto Anthropic
// tools. Function tools become {name, description, input_schema}; entries
// already in Anthropic's shape (a name plus input_schema, or a typed server
// tool with a name) are passed through unchanged.
func translateTools(raw []byte) ([]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tools must be a JSON array")
	}
	out := make([]json.RawMessage, 0, len(items))
	for i, it := range items {
		var t openAITool
		if err := json.Unmarshal(it, &t); err != nil {
			return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tools[%d] is not an object", i)
		}
		switch {
		case t.Type == "function" && t.Function != nil:
			if t.Function.Name == "" {
				return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tools[%d]: function without a name", i)
			}
			schema := t.Function.Parameters
			if len(bytes.TrimSpace(schema)) == 0 || string(bytes.TrimSpace(schema)) == "null" {
				schema = emptySchema
			}
			b, err := json.Marshal(tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
			if err != nil {
				return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tools[%d]: %v", i, err)
			}
			out = append(out, b)
		case t.Name != "" && (len(t.InputSchema) > 0 || (t.Type != "" && t.Type != "function")):
			out = append(out, it)
		default:
			return nil, runners.Errorf(runners.CodeUnsupported, "anthropic: tools[%d]: unsupported tool type %q", i, t.Type)
		}
	}
	return out, nil
}

// translateToolChoice maps an OpenAI-style tool_choice: "auto" → auto,
// "required" → any, "none" → none, {"type":"function","function":{"name":n}}
// → {"type":"tool","name":n}. Anthropic-shaped objects ({"type":"auto" |
// "any" | "none" | "tool", ...}) pass through.
func translateToolChoice(raw []byte) (*toolChoice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return &toolChoice{Type: "auto"}, nil
		case "required", "any":
			return &toolChoice{Type: "any"}, nil
		case "none":
			return &toolChoice{Type: "none"}, nil
		}
		return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: unknown tool_choice %q", s)
	}
	var o struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		DisableParallelToolUse bool `json:"disable_parallel_tool_use"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tool_choice must be a string or an object")
	}
	switch o.Type {
	case "function":
		if o.Function == nil || o.Function.Name == "" {
			return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tool_choice function without a name")
		}
		return &toolChoice{Type: "tool", Name: o.Function.Name}, nil
	case "tool":
		if o.Name == "" {
			return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tool_choice tool without a name")
		}
		return &toolChoice{Type: "tool", Name: o.Name, DisableParallelToolUse: o.DisableParallelToolUse}, nil
	case "auto", "any", "none":
		return &toolChoice{Type: o.Type, DisableParallelToolUse: o.DisableParallelToolUse}, nil
	}
	return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: unknown tool_choice type %q", o.Type)
}

// checkResponseFormat accepts an absent response_format or {"type":"text"};
// the Messages API has no JSON mode, so json_object and json_schema are
// refused as unsupported (a router may fall back to a provider that has it).
func checkResponseFormat(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return runners.Errorf(runners.CodeBadRequest, "anthropic: response_format must be an object")
	}
	if f.Type == "" || f.Type == "text" {
		return nil
	}
	return runners.Errorf(runners.CodeUnsupported, "anthropic: response_format %q is not supported by the Messages API", f.Type)
}
