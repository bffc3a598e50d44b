package gemini

import (
	"encoding/json"
	"strconv"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// streamState maps GenerateContentResponse objects (the whole unary answer,
// or each data: event of streamGenerateContent?alt=sse) onto TokenChunks.
// Only the first candidate is read (candidateCount is never set above 1).
//
// A Gemini stream has no terminator event: it is complete when a chunk has
// carried a finishReason and the body then ends. The final TokenChunk
// (finish reason, usage, model) is produced by finish.
type streamState struct {
	model    string
	usage    *usageMetadata
	reason   string
	nTools   int
	finished bool
	produced bool // some text, reasoning or tool call was returned
}

// chunk handles one response object. It returns the chunk to emit (nil when
// it carries no output), or the error the stream ends with: an error object
// in the stream, or a prompt blocked by promptFeedback.blockReason.
func (s *streamState) chunk(data []byte, errs errorMapper) (*messages.TokenChunk, error) {
	var r response
	if err := json.Unmarshal(data, &r); err != nil {
		// A stream may also carry an error as a one-element array.
		var arr []response
		if json.Unmarshal(data, &arr) != nil || len(arr) != 1 {
			return nil, malformed("chunk is not a GenerateContentResponse")
		}
		r = arr[0]
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		return nil, errs(0, data)
	}
	if r.ModelVersion != "" {
		s.model = r.ModelVersion
	}
	if r.UsageMetadata != nil {
		s.usage = r.UsageMetadata // cumulative: the latest wins
	}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
			e := runners.Errorf(runners.CodeContentFiltered, "gemini: prompt blocked (blockReason %s)", clipToken(r.PromptFeedback.BlockReason))
			e.Provider = string(runners.ProviderGemini)
			return nil, e
		}
		return nil, nil // a usage-only chunk
	}
	cand := r.Candidates[0]
	var out *messages.TokenChunk
	emit := func() *messages.TokenChunk {
		if out == nil {
			out = &messages.TokenChunk{}
		}
		return out
	}
	if cand.Content != nil {
		for _, p := range cand.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				args := string(p.FunctionCall.Args)
				if args == "" || args == "null" {
					args = "{}"
				}
				id := p.FunctionCall.ID
				if id == "" {
					id = "call_" + strconv.Itoa(s.nTools)
				}
				if p.ThoughtSignature != "" {
					// Carried in the id, so that it comes back with the call
					// in the next turn (see thoughtSep).
					id += thoughtSep + p.ThoughtSignature
				}
				c := emit()
				c.ToolCalls = append(c.ToolCalls, &messages.ToolCallDelta{
					Index: int32(s.nTools), Id: id, Type: "function", Name: p.FunctionCall.Name, Arguments: args,
				})
				s.nTools++
			case p.Thought:
				if p.Text != "" {
					emit().Reasoning += p.Text
				}
			case p.Text != "":
				emit().Text += p.Text
			}
		}
	}
	if cand.FinishReason != "" {
		s.reason = cand.FinishReason
		s.finished = true
	}
	if out != nil {
		s.produced = true
	}
	return out, nil
}

// finish returns the final chunk once the body has ended: finish reason,
// usage and model. A stream that ended without a finishReason was cut, and
// finish reports it as a server error; a content-filter finish before any
// output is a content_filtered error.
func (s *streamState) finish() (*messages.TokenChunk, error) {
	if !s.finished {
		return nil, malformed("stream ended without a finishReason (cut short)")
	}
	fr := finishReason(s.reason)
	if fr == messages.FinishReason_FINISH_REASON_CONTENT_FILTER && !s.produced {
		// Blocked before any output: an error, so that a fallback can
		// take the request.
		e := runners.Errorf(runners.CodeContentFiltered, "gemini: response blocked (finishReason %s)", clipToken(s.reason))
		e.Provider = string(runners.ProviderGemini)
		return nil, e
	}
	if (s.reason == "MALFORMED_FUNCTION_CALL" || s.reason == "UNEXPECTED_TOOL_CALL") && !s.produced {
		// The model failed to form a call and said nothing: a transient
		// model failure, retryable before the first chunk.
		e := runners.Errorf(runners.CodeServerError, "gemini: the model produced no usable output (finishReason %s)", s.reason)
		e.Provider = string(runners.ProviderGemini)
		return nil, e
	}
	if fr == messages.FinishReason_FINISH_REASON_STOP && s.nTools > 0 {
		fr = messages.FinishReason_FINISH_REASON_TOOL_CALLS
	}
	c := &messages.TokenChunk{FinishReason: fr, Model: s.model}
	if s.usage != nil {
		c.Usage = toUsage(s.usage)
	} else {
		c.Usage = &messages.Usage{Estimated: true}
	}
	return c, nil
}

// thoughtSep joins a tool call id and the thoughtSignature of its
// functionCall part. Thinking models want the signature back with the call
// in later turns (Gemini 3 refuses function calling without it), and the
// OpenAI-shaped conversation only round-trips the call id, so the runner
// hands out "<id>__thought__<signature>" and splits it again in
// buildRequest.
const thoughtSep = "__thought__"

// finishReason maps Gemini's FinishReason: STOP → stop; MAX_TOKENS →
// length; SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT, SPII,
// IMAGE_SAFETY → content_filter; anything else (LANGUAGE, OTHER,
// MALFORMED_FUNCTION_CALL, ...) → stop.
func finishReason(r string) messages.FinishReason {
	switch r {
	case "MAX_TOKENS":
		return messages.FinishReason_FINISH_REASON_LENGTH
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
		"IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return messages.FinishReason_FINISH_REASON_CONTENT_FILTER
	}
	return messages.FinishReason_FINISH_REASON_STOP
}

// toUsage maps usageMetadata: InputTokens = promptTokenCount (which includes
// cached content) + toolUsePromptTokenCount; CachedInputTokens =
// cachedContentTokenCount; OutputTokens = candidatesTokenCount +
// thoughtsTokenCount (thinking is billed as output); ReasoningTokens =
// thoughtsTokenCount.
func toUsage(u *usageMetadata) *messages.Usage {
	return &messages.Usage{
		InputTokens:       u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CachedInputTokens: u.CachedContentTokenCount,
		OutputTokens:      u.CandidatesTokenCount + u.ThoughtsTokenCount,
		ReasoningTokens:   u.ThoughtsTokenCount,
	}
}

// errorMapper classifies an error body (status 0: inside a stream).
type errorMapper func(status int, body []byte) *messages.Error

// malformed is the error for a provider response this runner cannot read.
func malformed(format string, args ...any) *messages.Error {
	e := runners.Errorf(runners.CodeServerError, "gemini: malformed response: "+format, args...)
	e.Provider = string(runners.ProviderGemini)
	return e
}

// clipToken bounds an enum-like provider value quoted in an error.
func clipToken(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}
