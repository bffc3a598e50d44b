package local

import "slices"

// sampler picks the next token from logits. It mirrors llama2.c's sampler
// (xorshift RNG, temperature, top-p nucleus) and adds top-k. Its buffers are
// allocated once per sequence, so sampling allocates nothing per token.
type sampler struct {
	temperature float32 // 0: greedy (argmax)
	topP        float32 // in (0,1): nucleus sampling; otherwise off
	topK        int     // > 0: keep the k most likely tokens
	rng         uint64
	cand        []probIndex

	// OpenAI-style penalties over the tokens generated so far: a logit
	// loses presence once a token has appeared and frequency per
	// appearance. counts is allocated only when a penalty is set.
	presence, frequency float32
	counts              []int32
}

// penalize records token as generated (for the penalties).
func (s *sampler) penalize(token int) {
	if s.counts != nil {
		s.counts[token]++
	}
}

type probIndex struct {
	p float32
	i int32
}

func newSampler(vocab int, temperature, topP float32, topK int, seed uint64) *sampler {
	if seed == 0 {
		seed = 0x9E3779B97F4A7C15 // xorshift must not start at 0
	}
	s := &sampler{temperature: temperature, topP: topP, topK: topK, rng: seed}
	if temperature > 0 && (topK > 0 || (topP > 0 && topP < 1)) {
		s.cand = make([]probIndex, vocab)
	}
	return s
}

// u32 is llama2.c's random_u32 (xorshift*).
func (s *sampler) u32() uint32 {
	s.rng ^= s.rng >> 12
	s.rng ^= s.rng << 25
	s.rng ^= s.rng >> 27
	return uint32((s.rng * 0x2545F4914F6CDD1D) >> 32)
}

// f32 is llama2.c's random_f32: uniform in [0, 1).
func (s *sampler) f32() float32 { return float32(s.u32()>>8) / 16777216.0 }

// argmaxGeneric returns the index of the first largest value of x (0 when
// x is empty or x[0] is NaN: a NaN never compares greater).
func argmaxGeneric(x []float32) int {
	if len(x) == 0 {
		return 0
	}
	best, bv := 0, x[0]
	for i, v := range x {
		if v > bv {
			best, bv = i, v
		}
	}
	return best
}

// sample returns the next token; it overwrites logits.
func (s *sampler) sample(logits []float32) int {
	if s.counts != nil {
		for i, c := range s.counts {
			if c > 0 {
				logits[i] -= s.presence + s.frequency*float32(c)
			}
		}
	}
	if s.temperature <= 0 {
		return argmax(logits)
	}
	for i := range logits {
		logits[i] /= s.temperature
	}
	softmax(logits)
	coin := s.f32()
	if s.cand == nil {
		var cdf float32
		for i, p := range logits {
			cdf += p
			if coin < cdf {
				return i
			}
		}
		return len(logits) - 1
	}
	return s.sampleTruncated(logits, coin)
}

func byProbDesc(a, b probIndex) int {
	switch {
	case a.p > b.p:
		return -1
	case a.p < b.p:
		return 1
	}
	return int(a.i - b.i)
}

// sampleTruncated samples among the top-k and/or top-p candidates.
func (s *sampler) sampleTruncated(probs []float32, coin float32) int {
	n := len(probs)
	cand := s.cand[:0]
	topP := s.topP > 0 && s.topP < 1
	// As llama2.c: tokens below (1-p)/(n-1) cannot be in the nucleus.
	cutoff := float32(0)
	if topP && n > 1 {
		cutoff = (1 - s.topP) / float32(n-1)
	}
	for i, p := range probs {
		if p >= cutoff {
			cand = append(cand, probIndex{p, int32(i)})
		}
	}
	if s.topK > 0 && s.topK < len(cand) {
		// Move the k best to the front, then sort only those.
		selectTopK(cand, s.topK)
		cand = cand[:s.topK]
	}
	slices.SortFunc(cand, byProbDesc)
	var total float32
	for _, c := range cand {
		total += c.p
	}
	last := len(cand) - 1
	if topP {
		var cum float32
		for i, c := range cand {
			cum += c.p / total
			if cum > s.topP {
				last = i
				break
			}
		}
	}
	var mass float32
	for _, c := range cand[:last+1] {
		mass += c.p
	}
	r := coin * mass
	var cdf float32
	for _, c := range cand[:last+1] {
		cdf += c.p
		if r < cdf {
			return int(c.i)
		}
	}
	return int(cand[last].i)
}

// selectTopK partially orders c so that its first k entries are the k most
// probable (quickselect, deterministic pivots).
func selectTopK(c []probIndex, k int) {
	lo, hi := 0, len(c)-1
	for lo < hi {
		pv := c[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for byProbDesc(c[i], pv) < 0 {
				i++
			}
			for byProbDesc(c[j], pv) > 0 {
				j--
			}
			if i <= j {
				c[i], c[j] = c[j], c[i]
				i++
				j--
			}
		}
		switch {
		case k-1 <= j:
			hi = j
		case k-1 >= i:
			lo = i
		default:
			return
		}
	}
}
