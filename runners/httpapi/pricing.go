package httpapi

import (
	"strings"

	"github.com/actorinfer/actorinfer/messages"
)

// Price is a model's price in USD per million tokens. CachedInput is the
// price of input tokens served from the provider's prompt cache (0 means the
// Input price); CacheWrite the price of input tokens written to it, where the
// provider charges for that (Anthropic; 0 means the Input price).
type Price struct {
	Input       float64
	Output      float64
	CachedInput float64
	CacheWrite  float64
}

// PricesAsOf is the date of the built-in table. Prices change; override them
// per deployment ([deployment.pricing]) rather than trusting a stale table.
const PricesAsOf = "2025-11"

// prices is the built-in table: list prices (standard tier, prompts under
// any long-context threshold) of current OpenAI, Anthropic and Gemini models.
var prices = map[string]Price{
	// OpenAI
	"gpt-5":         {Input: 1.25, CachedInput: 0.125, Output: 10},
	"gpt-5-mini":    {Input: 0.25, CachedInput: 0.025, Output: 2},
	"gpt-5-nano":    {Input: 0.05, CachedInput: 0.005, Output: 0.40},
	"gpt-4.1":       {Input: 2, CachedInput: 0.50, Output: 8},
	"gpt-4.1-mini":  {Input: 0.40, CachedInput: 0.10, Output: 1.60},
	"gpt-4.1-nano":  {Input: 0.10, CachedInput: 0.025, Output: 0.40},
	"gpt-4o":        {Input: 2.50, CachedInput: 1.25, Output: 10},
	"gpt-4o-mini":   {Input: 0.15, CachedInput: 0.075, Output: 0.60},
	"gpt-4-turbo":   {Input: 10, Output: 30},
	"gpt-4":         {Input: 30, Output: 60},
	"gpt-3.5-turbo": {Input: 0.50, Output: 1.50},
	"o1":            {Input: 15, CachedInput: 7.50, Output: 60},
	"o1-mini":       {Input: 1.10, CachedInput: 0.55, Output: 4.40},
	"o3":            {Input: 2, CachedInput: 0.50, Output: 8},
	"o3-mini":       {Input: 1.10, CachedInput: 0.55, Output: 4.40},
	"o4-mini":       {Input: 1.10, CachedInput: 0.275, Output: 4.40},
	// Anthropic (cache write: 5-minute TTL, 1.25x input; cache read 0.1x)
	"claude-opus-4-5":   {Input: 5, Output: 25, CachedInput: 0.50, CacheWrite: 6.25},
	"claude-opus-4-1":   {Input: 15, Output: 75, CachedInput: 1.50, CacheWrite: 18.75},
	"claude-opus-4":     {Input: 15, Output: 75, CachedInput: 1.50, CacheWrite: 18.75},
	"claude-sonnet-4-5": {Input: 3, Output: 15, CachedInput: 0.30, CacheWrite: 3.75},
	"claude-sonnet-4":   {Input: 3, Output: 15, CachedInput: 0.30, CacheWrite: 3.75},
	"claude-3-7-sonnet": {Input: 3, Output: 15, CachedInput: 0.30, CacheWrite: 3.75},
	"claude-3-5-sonnet": {Input: 3, Output: 15, CachedInput: 0.30, CacheWrite: 3.75},
	"claude-haiku-4-5":  {Input: 1, Output: 5, CachedInput: 0.10, CacheWrite: 1.25},
	"claude-3-5-haiku":  {Input: 0.80, Output: 4, CachedInput: 0.08, CacheWrite: 1},
	"claude-3-haiku":    {Input: 0.25, Output: 1.25, CachedInput: 0.03, CacheWrite: 0.30},
	"claude-3-opus":     {Input: 15, Output: 75, CachedInput: 1.50, CacheWrite: 18.75},
	// Gemini (prompts up to 200k tokens where the price is tiered)
	"gemini-2.5-pro":        {Input: 1.25, CachedInput: 0.125, Output: 10},
	"gemini-2.5-flash":      {Input: 0.30, CachedInput: 0.03, Output: 2.50},
	"gemini-2.5-flash-lite": {Input: 0.10, CachedInput: 0.01, Output: 0.40},
	"gemini-2.0-flash":      {Input: 0.10, CachedInput: 0.025, Output: 0.40},
	"gemini-2.0-flash-lite": {Input: 0.075, Output: 0.30},
	"gemini-1.5-pro":        {Input: 1.25, CachedInput: 0.3125, Output: 5},
	"gemini-1.5-flash":      {Input: 0.075, CachedInput: 0.01875, Output: 0.30},
}

// LookupPrice returns the price of model: override when non-nil, otherwise
// the built-in entry for the model or its family. A provider prefix
// ("openai/", "models/") is dropped, then trailing date and version segments
// are dropped one at a time until an entry matches:
// gpt-4o-2024-08-06 → gpt-4o, claude-sonnet-4-20250514 → claude-sonnet-4,
// gemini-2.5-flash-preview-05-20 → gemini-2.5-flash, gpt-4-0613 → gpt-4,
// claude-3-5-sonnet-latest → claude-3-5-sonnet. Only segments of two or more
// digits, "latest", "preview" and "exp" are dropped, so gpt-4o-audio-preview
// or a new claude-opus-4-9 is unknown rather than priced as its elder. The
// second result is false when the price is unknown.
func LookupPrice(model string, override *Price) (Price, bool) {
	if override != nil {
		return *override, true
	}
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for m != "" {
		if p, ok := prices[m]; ok {
			return p, true
		}
		i := strings.LastIndexByte(m, '-')
		if i <= 0 || !droppable(m[i+1:]) {
			break
		}
		m = m[:i]
	}
	return Price{}, false
}

func droppable(seg string) bool {
	switch seg {
	case "latest", "preview", "exp":
		return true
	}
	if len(seg) < 2 {
		return false
	}
	for _, c := range seg {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Cost returns the USD cost of u at p. Cached input tokens are a subset of
// input tokens (OpenAI's and Gemini's accounting); cache-write tokens are
// counted separately (Anthropic reports them outside input_tokens, and its
// runner passes them so).
func (p Price) Cost(u *messages.Usage) float64 {
	if u == nil {
		return 0
	}
	cached := u.GetCachedInputTokens()
	fresh := max(u.GetInputTokens()-cached, 0)
	cachedPrice := p.CachedInput
	if cachedPrice == 0 {
		cachedPrice = p.Input
	}
	writePrice := p.CacheWrite
	if writePrice == 0 {
		writePrice = p.Input
	}
	return (float64(fresh)*p.Input + float64(cached)*cachedPrice +
		float64(u.GetCacheWriteTokens())*writePrice + float64(u.GetOutputTokens())*p.Output) / 1e6
}

// EstimateCostUSD is the worst-case cost of batch at p: EstimateInputTokens
// at the input price plus max_tokens (defaultMaxTokens when the batch sets
// none) at the output price. When known is false it returns -1, the
// ModelRunner contract's "price unknown".
func EstimateCostUSD(batch *messages.ExecuteBatch, p Price, known bool, defaultMaxTokens int) float64 {
	if !known {
		return -1
	}
	out := int64(batch.GetSampling().GetMaxTokens())
	if out <= 0 {
		out = int64(defaultMaxTokens)
	}
	return (float64(EstimateInputTokens(batch))*p.Input + float64(out)*p.Output) / 1e6
}

// The token-estimate constants: see EstimateInputTokens.
const (
	charsPerToken     = 4
	tokensPerMessage  = 4
	tokensPerReply    = 3
	tokensPerImage    = 765
	tokensPerToolCall = 8
)

// EstimateInputTokens approximates a batch's prompt size in tokens without a
// tokenizer: one token per 4 bytes of text (rounded up, per message),
// 4 tokens of framing per message plus 3 to prime the reply, 765 per image
// (OpenAI's cost of a 512×512 high-detail tile set), 8 per prior tool call
// plus its name and arguments, and the tools, tool_choice and
// response_format JSON at 4 bytes per token. It tends to overestimate
// English prose slightly, which is the safe side for limiters and budgets.
func EstimateInputTokens(batch *messages.ExecuteBatch) int64 {
	n := int64(tokensPerReply)
	for _, m := range batch.GetMessages() {
		n += tokensPerMessage
		bytes := len(m.GetName()) + len(m.GetToolCallId())
		if len(m.GetParts()) == 0 {
			bytes += len(m.GetContent())
		}
		for _, p := range m.GetParts() {
			if p.GetImage() != nil {
				n += tokensPerImage
				continue
			}
			bytes += len(p.GetText())
		}
		for _, tc := range m.GetToolCalls() {
			n += tokensPerToolCall
			bytes += len(tc.GetName()) + len(tc.GetArguments())
		}
		n += ceilDiv(bytes, charsPerToken)
	}
	n += ceilDiv(len(batch.GetToolsJson())+len(batch.GetToolChoiceJson())+len(batch.GetResponseFormatJson()), charsPerToken)
	return n
}

func ceilDiv(a, b int) int64 { return int64((a + b - 1) / b) }
