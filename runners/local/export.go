package local

// This file exports the pieces other local runtimes (runners/cuda) reuse:
// the weights as plain fp32 tensors, the sampler and the streaming text
// filter (PlanRequest, in plan.go, validates requests for both).

// LayerTensors are one transformer layer's weights, row-major fp32.
type LayerTensors struct {
	AttNorm, FFNNorm []float32 // [dim]
	WQ               []float32 // [dim][dim]
	WK, WV           []float32 // [kvDim][dim]
	WO               []float32 // [dim][dim]
	W1, W3           []float32 // [hidden][dim]
	W2               []float32 // [dim][hidden]
}

// Tensors are a model's weights as row-major fp32 tensors.
type Tensors struct {
	TokenEmbedding []float32 // [vocab][dim]
	Layers         []LayerTensors
	FinalNorm      []float32 // [dim]
	Classifier     []float32 // [vocab][dim] (the embedding when shared)
}

// Tensors returns the model's weights in fp32. fp32 tensors alias the
// model's (memory-mapped) storage and must not be modified or used after
// Close; quantized tensors are dequantized into new slices.
func (m *Model) Tensors() Tensors {
	f := func(w *matrix) []float32 {
		if !w.quantized() {
			return w.f
		}
		out := make([]float32, w.rows*w.cols)
		for r := 0; r < w.rows; r++ {
			w.row(r, out[r*w.cols:(r+1)*w.cols])
		}
		return out
	}
	t := Tensors{TokenEmbedding: f(&m.tokEmb), FinalNorm: m.finalNorm, Classifier: f(&m.cls)}
	for i := range m.layers {
		l := &m.layers[i]
		t.Layers = append(t.Layers, LayerTensors{
			AttNorm: l.attNorm, FFNNorm: l.ffnNorm,
			WQ: f(&l.wq), WK: f(&l.wk), WV: f(&l.wv), WO: f(&l.wo),
			W1: f(&l.w1), W2: f(&l.w2), W3: f(&l.w3),
		})
	}
	return t
}

// Sampler picks next tokens exactly as the CPU runner does (greedy at
// temperature 0; otherwise temperature, top-k, top-p and the OpenAI-style
// penalties, from llama2.c's seeded xorshift generator). A Sampler belongs
// to one sequence and is not safe for concurrent use.
type Sampler struct{ s *sampler }

// NewSampler returns a sampler over vocab tokens. presence and frequency
// are the penalties (0: off).
func NewSampler(vocab int, temperature, topP float32, topK int, seed uint64, presence, frequency float32) *Sampler {
	s := newSampler(vocab, temperature, topP, topK, seed)
	if presence != 0 || frequency != 0 {
		s.presence, s.frequency = presence, frequency
		s.counts = make([]int32, vocab)
	}
	return &Sampler{s: s}
}

// Sample returns the next token and records it for the penalties. It
// overwrites logits.
func (s *Sampler) Sample(logits []float32) int {
	t := s.s.sample(logits)
	s.s.penalize(t)
	return t
}

// TextFilter turns the byte pieces of generated tokens into streamable
// text as the CPU runner does: it holds an incomplete UTF-8 character until
// it is complete, and text that may begin a stop string until decided. Not
// safe for concurrent use.
type TextFilter struct{ q sequence }

// NewTextFilter returns a filter for the given stop strings (empty ones
// must be left out).
func NewTextFilter(stops []string) *TextFilter {
	return &TextFilter{q: sequence{stops: stops}}
}

// Emit takes one token's bytes and returns the text to stream now and
// whether a stop string ended the answer (the text then stops right before
// it).
func (f *TextFilter) Emit(piece []byte) (string, bool) { return f.q.emit(piece) }

// Flush returns the text still held (an incomplete character as U+FFFD).
func (f *TextFilter) Flush() string { return f.q.flush() }
