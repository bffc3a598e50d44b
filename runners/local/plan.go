package local

import (
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Plan is a validated generation request: the prompt tokens and the
// decoding settings both local runtimes (this CPU runner and runners/cuda)
// apply the same way.
type Plan struct {
	Prompt              []int
	MaxNew              int // tokens to generate at most
	Temperature, TopP   float32
	TopK                int
	Seed                uint64
	Presence, Frequency float32  // OpenAI-style penalties (0: off)
	Stops               []string // non-empty stop sequences
}

// PlanRequest renders batch's conversation with template, checks it fits
// ctxLen positions and validates its sampling settings. A request without
// a seed uses defaultSeed, or a fresh one when that is 0. Errors are
// *messages.Error (context_length_exceeded, bad_request) prefixed with
// runtime ("local", "cuda").
func PlanRequest(runtime string, tok *Tokenizer, template string, ctxLen int, defaultSeed int64, batch *messages.ExecuteBatch) (Plan, error) {
	prompt, err := promptTokens(tok, template, batch.GetMessages())
	if err != nil {
		return Plan{}, err
	}
	if len(prompt) > ctxLen {
		return Plan{}, runners.Errorf(runners.CodeContextLengthExceeded,
			"%s: the prompt is %d tokens, the context length is %d", runtime, len(prompt), ctxLen)
	}
	smp := batch.GetSampling()
	p := Plan{Prompt: prompt, MaxNew: ctxLen - len(prompt) + 1, Temperature: 1, TopP: 1}
	if m := int(smp.GetMaxTokens()); m > 0 {
		p.MaxNew = min(p.MaxNew, m)
	} else if m < 0 {
		return Plan{}, runners.Errorf(runners.CodeBadRequest, "%s: max_tokens %d is negative", runtime, m)
	}
	if smp != nil && smp.Temperature != nil {
		p.Temperature = smp.GetTemperature()
	}
	if smp != nil && smp.TopP != nil {
		p.TopP = smp.GetTopP()
	}
	p.TopK = int(smp.GetTopK())
	if !(p.Temperature >= 0) || !(p.TopP >= 0 && p.TopP <= 1) || p.TopK < 0 {
		return Plan{}, runners.Errorf(runners.CodeBadRequest, "%s: invalid sampling (temperature %g, top_p %g, top_k %d)",
			runtime, p.Temperature, p.TopP, p.TopK)
	}
	p.Presence, p.Frequency = smp.GetPresencePenalty(), smp.GetFrequencyPenalty()
	if !(p.Presence >= -2 && p.Presence <= 2) || !(p.Frequency >= -2 && p.Frequency <= 2) {
		return Plan{}, runners.Errorf(runners.CodeBadRequest, "%s: penalties must lie in [-2, 2] (presence %g, frequency %g)",
			runtime, p.Presence, p.Frequency)
	}
	switch {
	case smp != nil && smp.Seed != nil:
		p.Seed = uint64(smp.GetSeed())
	case defaultSeed != 0:
		p.Seed = uint64(defaultSeed)
	default:
		p.Seed = uint64(time.Now().UnixNano())
	}
	for _, s := range smp.GetStop() {
		if s != "" {
			p.Stops = append(p.Stops, s)
		}
	}
	return p, nil
}
