package gemini

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/actorinfer/actorinfer/runners"
)

// schemaKeys are the JSON Schema keywords Gemini's Schema object (an
// OpenAPI 3.0 subset) accepts; cleanSchema drops the others
// ($schema, additionalProperties, $defs, ...), which the API refuses.
var schemaKeys = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true,
	"enum": true, "maxItems": true, "minItems": true, "properties": true, "required": true,
	"minProperties": true, "maxProperties": true, "minLength": true, "maxLength": true,
	"pattern": true, "example": true, "anyOf": true, "propertyOrdering": true,
	"default": true, "items": true, "minimum": true, "maximum": true,
}

// cleanSchema reduces a JSON Schema to the keywords Gemini accepts,
// recursing into properties, items and anyOf. A JSON Schema type list such
// as ["string","null"] becomes type "string" with nullable true.
func cleanSchema(raw json.RawMessage) (json.RawMessage, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("not JSON")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	return json.Marshal(cleanSchemaValue(obj, 0))
}

func cleanSchemaValue(s map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(s))
	if depth > 64 {
		return out
	}
	for k, v := range s {
		if !schemaKeys[k] {
			continue
		}
		switch k {
		case "type":
			if list, ok := v.([]any); ok {
				for _, t := range list {
					if t == "null" {
						out["nullable"] = true
					} else if _, set := out["type"]; !set {
						out["type"] = t
					}
				}
				continue
			}
			out[k] = v
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				continue
			}
			cp := make(map[string]any, len(props))
			for name, p := range props {
				if ps, ok := p.(map[string]any); ok {
					cp[name] = cleanSchemaValue(ps, depth+1)
				}
			}
			out[k] = cp
		case "enum":
			list, ok := v.([]any)
			if !ok {
				continue
			}
			var vals []any
			for _, e := range list {
				if e == nil {
					out["nullable"] = true
				} else {
					vals = append(vals, e)
				}
			}
			out[k] = vals
		case "items":
			if is, ok := v.(map[string]any); ok {
				out[k] = cleanSchemaValue(is, depth+1)
			}
		case "anyOf":
			list, ok := v.([]any)
			if !ok {
				continue
			}
			var cl []any
			for _, a := range list {
				if as, ok := a.(map[string]any); ok {
					cl = append(cl, cleanSchemaValue(as, depth+1))
				}
			}
			out[k] = cl
		default:
			out[k] = v
		}
	}
	return out
}

// translateTools maps OpenAI-style function tools onto one Gemini tool with
// functionDeclarations (parameters cleaned by cleanSchema; omitted when the
// function takes none). Entries already in Gemini's shape
// (functionDeclarations, googleSearch, codeExecution, ...: an object without
// "type") pass through. It returns the declared function names too.
func translateTools(raw []byte) ([]json.RawMessage, []string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, nil, runners.Errorf(runners.CodeBadRequest, "gemini: tools must be a JSON array")
	}
	var decls []functionDeclaration
	var native []json.RawMessage
	var names []string
	for i, it := range items {
		var t struct {
			Type     string `json:"type"`
			Function *struct {
				Name        string          `json:"name"`
				Description string          `json:"description"`
				Parameters  json.RawMessage `json:"parameters"`
			} `json:"function"`
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(it, &m); err != nil || m == nil {
			return nil, nil, runners.Errorf(runners.CodeBadRequest, "gemini: tools[%d] is not an object", i)
		}
		_ = json.Unmarshal(it, &t)
		switch {
		case t.Type == "function" && t.Function != nil:
			if t.Function.Name == "" {
				return nil, nil, runners.Errorf(runners.CodeBadRequest, "gemini: tools[%d]: function without a name", i)
			}
			d := functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
			if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && string(p) != "null" {
				s, err := cleanSchema(p)
				if err != nil {
					return nil, nil, runners.Errorf(runners.CodeBadRequest, "gemini: tools[%d].function.parameters: %v", i, err)
				}
				if !emptyObjectSchema(s) {
					d.Parameters = s
				}
			}
			decls = append(decls, d)
			names = append(names, d.Name)
		case t.Type == "" && len(m) > 0:
			native = append(native, it)
		default:
			return nil, nil, runners.Errorf(runners.CodeUnsupported, "gemini: tools[%d]: unsupported tool type %q", i, t.Type)
		}
	}
	var out []json.RawMessage
	if len(decls) > 0 {
		b, err := json.Marshal(map[string]any{"functionDeclarations": decls})
		if err != nil {
			return nil, nil, runners.Errorf(runners.CodeBadRequest, "gemini: tools: %v", err)
		}
		out = append(out, b)
	}
	return append(out, native...), names, nil
}

// emptyObjectSchema reports a schema that declares an object without
// properties, which Gemini refuses as function parameters.
func emptyObjectSchema(s json.RawMessage) bool {
	var v struct {
		Type       any             `json:"type"`
		Properties map[string]any  `json:"properties"`
		AnyOf      json.RawMessage `json:"anyOf"`
	}
	if json.Unmarshal(s, &v) != nil {
		return false
	}
	return (v.Type == nil || v.Type == "object") && len(v.Properties) == 0 && len(v.AnyOf) == 0
}

// translateToolChoice maps tool_choice onto functionCallingConfig: "auto" →
// AUTO, "none" → NONE, "required" → ANY, {"type":"function","function":
// {"name":n}} → ANY restricted to n.
func translateToolChoice(raw []byte, declared []string) (*toolConfig, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return &toolConfig{functionCallingConfig{Mode: "AUTO"}}, nil
		case "required", "any":
			return &toolConfig{functionCallingConfig{Mode: "ANY"}}, nil
		case "none":
			return &toolConfig{functionCallingConfig{Mode: "NONE"}}, nil
		}
		return nil, runners.Errorf(runners.CodeBadRequest, "gemini: unknown tool_choice %q", s)
	}
	var o struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.Type != "function" || o.Function == nil || o.Function.Name == "" {
		return nil, runners.Errorf(runners.CodeBadRequest, "gemini: tool_choice must be auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	if len(declared) > 0 && !slices.Contains(declared, o.Function.Name) {
		return nil, runners.Errorf(runners.CodeBadRequest, "gemini: tool_choice names %q, which is not among the tools", o.Function.Name)
	}
	return &toolConfig{functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{o.Function.Name}}}, nil
}
