package openai

import "encoding/json"

// The Chat Completions wire format, as OpenAI documents it
// (POST /chat/completions), hand-written: only the fields actorinfer sends
// or reads.

// chatRequest is the request body. Field order follows OpenAI's reference.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	MaxCompletionTokens int32           `json:"max_completion_tokens,omitempty"`
	MaxTokens           int32           `json:"max_tokens,omitempty"`
	Temperature         *float32        `json:"temperature,omitempty"`
	TopP                *float32        `json:"top_p,omitempty"`
	TopK                *int32          `json:"top_k,omitempty"` // compatible servers only (vLLM, llama.cpp)
	Stop                []string        `json:"stop,omitempty"`
	PresencePenalty     *float32        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float32        `json:"frequency_penalty,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	Tools               json.RawMessage `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// wireMessage is one request message. Content is a string, an array of
// parts, or null (an assistant turn that only calls tools).
type wireMessage struct {
	Role       string         `json:"role"`
	Content    any            `json:"content"`
	Name       string         `json:"name,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
}

type wirePart struct {
	Type     string        `json:"type"`
	Text     string        `json:"text,omitempty"`
	ImageURL *wireImageURL `json:"image_url,omitempty"`
}

type wireImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type wireToolCall struct {
	Index    *int32       `json:"index,omitempty"` // stream deltas only
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// chatResponse is a chat.completion object or a chat.completion.chunk
// (choices carry message or delta respectively). Error is set when a
// server reports an error inside a 200 body or stream.
//
// It decodes only what the runner reads (id, object, created and the like
// are skipped without allocating).
type chatResponse struct {
	Model   string          `json:"model"`
	Choices []wireChoice    `json:"choices"`
	Usage   *wireUsage      `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

type wireChoice struct {
	Index        int        `json:"index"`
	Message      *wireReply `json:"message"`
	Delta        *wireReply `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

// wireReply is a response message or delta. ReasoningContent (vLLM,
// DeepSeek, LiteLLM) and Reasoning (OpenRouter, llama.cpp) carry reasoning
// text where a compatible server exposes it.
type wireReply struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	Refusal          *string        `json:"refusal"`
	ReasoningContent *string        `json:"reasoning_content"`
	Reasoning        *string        `json:"reasoning"`
	ToolCalls        []wireToolCall `json:"tool_calls"`
}

type wireUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}
