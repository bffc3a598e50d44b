package anthropic

import "encoding/json"

// The Messages API wire types, as documented at
// https://docs.anthropic.com/en/api/messages. Only the fields this runner
// sends or reads are declared; unknown fields in responses are ignored.

// apiVersion is the anthropic-version header value this runner speaks.
const apiVersion = "2023-06-01"

// request is the body of POST /v1/messages.
type request struct {
	Model         string            `json:"model"`
	MaxTokens     int               `json:"max_tokens"`
	System        []block           `json:"system,omitempty"`
	Messages      []message         `json:"messages"`
	Temperature   *float64          `json:"temperature,omitempty"`
	TopP          *float64          `json:"top_p,omitempty"`
	TopK          *int              `json:"top_k,omitempty"`
	StopSequences []string          `json:"stop_sequences,omitempty"`
	Stream        bool              `json:"stream,omitempty"`
	Tools         []json.RawMessage `json:"tools,omitempty"`
	ToolChoice    *toolChoice       `json:"tool_choice,omitempty"`
	Metadata      *metadata         `json:"metadata,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// message is one turn: role "user" or "assistant".
type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

// block is a content block. Which fields are set depends on Type: text,
// image, tool_use, tool_result (requests); text, tool_use, thinking,
// redacted_thinking (responses).
type block struct {
	Type string `json:"type"`

	// text
	Text string `json:"text,omitempty"`

	// image
	Source *imageSource `json:"source,omitempty"`

	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`

	// tool_result
	ToolUseID string  `json:"tool_use_id,omitempty"`
	Content   []block `json:"content,omitempty"`

	// thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// imageSource is {"type":"base64","media_type":...,"data":...} or
// {"type":"url","url":...}.
type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// tool is a client tool definition.
type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// toolChoice is {"type":"auto"|"any"|"none"} or {"type":"tool","name":...}.
type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// response is the body of a non-streaming reply, and the "message" of a
// message_start event.
type response struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []block `json:"content"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        usage   `json:"usage"`
}

// usage counts tokens. input_tokens excludes the cache reads and writes,
// which are reported separately.
type usage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// streamEvent is the data of one SSE event; Type repeats the event name.
type streamEvent struct {
	Type         string    `json:"type"`
	Message      *response `json:"message,omitempty"`       // message_start
	Index        int       `json:"index"`                   // content_block_*
	ContentBlock *block    `json:"content_block,omitempty"` // content_block_start
	Delta        *delta    `json:"delta,omitempty"`         // content_block_delta, message_delta
	Usage        *usage    `json:"usage,omitempty"`         // message_delta
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error,omitempty"` // error
}

// delta is a content_block_delta's delta (text_delta, input_json_delta,
// thinking_delta, signature_delta) or a message_delta's delta (stop_reason).
type delta struct {
	Type         string `json:"type"`
	Text         string `json:"text"`
	PartialJSON  string `json:"partial_json"`
	Thinking     string `json:"thinking"`
	Signature    string `json:"signature"`
	StopReason   string `json:"stop_reason"`
	StopSequence string `json:"stop_sequence"`
}
