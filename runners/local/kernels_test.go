package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelsMatchReference checks the build's kernels (assembly on amd64
// with AVX2, portable otherwise) against float64 sums, over lengths that
// exercise every vector width and tail, and that an input's product is
// bit-identical whether it is computed alone, with three others, or for
// two rows at once (the batched decode relies on it).
func TestKernelsMatchReference(t *testing.T) {
	t.Logf("kernels: %s", Kernels())
	r := rand.New(rand.NewPCG(1, 2))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	ref := func(a, b []float32) (sum, abs float64) {
		for i := range a {
			p := float64(a[i]) * float64(b[i])
			sum += p
			abs += math.Abs(p)
		}
		return
	}
	lengths := []int{}
	for n := 0; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 512, 520, 776)
	const maxB = 13
	for _, n := range lengths {
		w0, w1, w2 := vec(n), vec(n), vec(n)
		xs := make([][]float32, maxB)
		for i := range xs {
			xs[i] = vec(n)
		}
		for _, x := range xs[:5] {
			got := dot(w0, x)
			want, abs := ref(w0, x)
			if d := math.Abs(float64(got) - want); d > 1e-5*abs+1e-6 {
				t.Fatalf("n=%d: dot = %v, want %v (|Σ|w·x|| %v)", n, got, want, abs)
			}
		}
		// The same products through the batched matrix kernels (three
		// rows: pairs and a last row; 1 to 13 inputs: groups of eight and
		// four and the rest), for every row range.
		rows := [][]float32{w0, w1, w2}
		w := append(append(append([]float32(nil), w0...), w1...), w2...)
		in := make([]float32, 0, maxB*n)
		for _, x := range xs {
			in = append(in, x...)
		}
		for nb := 1; nb <= maxB; nb++ {
			for a := 0; a < 3; a++ {
				for z := a + 1; z <= 3; z++ {
					var out [maxBatchLimit][]float32
					for b := 0; b < nb; b++ {
						out[b] = make([]float32, 3)
					}
					matvecF32(w, a, z, n, in, nb, &out)
					for b := 0; b < nb; b++ {
						for row := 0; row < 3; row++ {
							alone := float32(0)
							if row >= a && row < z {
								alone = dot(rows[row], xs[b])
							}
							if out[b][row] != alone {
								t.Fatalf("n=%d nb=%d rows [%d,%d): row %d input %d = %v batched, %v alone", n, nb, a, z, row, b, out[b][row], alone)
							}
						}
					}
				}
			}
		}
		// axpy
		y := vec(n)
		want := make([]float64, n)
		for i := range y {
			want[i] = float64(y[i]) + 0.75*float64(xs[0][i])
		}
		axpy(0.75, xs[0], y)
		for i := range y {
			if d := math.Abs(float64(y[i]) - want[i]); d > 1e-6*(1+math.Abs(want[i])) {
				t.Fatalf("n=%d: axpy[%d] = %v, want %v", n, i, y[i], want[i])
			}
		}
	}
}

// TestQ8KernelsMatchReference checks the Q8_0 matrix kernels (group sizes
// 32 and 64; rows of whole blocks of eight groups, of fewer, and of both;
// 1 to 13 inputs, so every kernel group width) against float64 sums of the
// dequantized products, in the natural layout and, where the build packs
// (VNNI), the packed one; and every input's batched result against the
// same input alone, bit for bit.
func TestQ8KernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const maxB = 13
	for _, gs := range []int{32, 64} {
		for _, shape := range [][2]int{{5, gs}, {5, 2 * gs}, {5, 6 * gs}, {5, 8 * gs}, {5, 9 * gs}, {3, 25 * gs}, {45, 25 * gs}} {
			rows, cols := shape[0], shape[1]
			ng := cols / gs
			m := &matrix{rows: rows, cols: cols, gs: gs, q: make([]int8, rows*cols), s: make([]float32, rows*ng)}
			for i := range m.q {
				m.q[i] = int8(r.IntN(255) - 127)
			}
			for i := range m.s {
				m.s[i] = float32(r.Float64()) * 0.01
			}
			x := make([]float32, maxB*cols)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			// The reference reads the natural quantization.
			xq, xs := make([]int16, maxB*cols), make([]float32, maxB*ng)
			quantizeQ8(x, xq, xs, gs)
			layouts := []bool{false}
			if packQ8OK(gs) {
				packQ8(m)
				layouts = append(layouts, true)
			}
			for _, packed := range layouts {
				acts := newQ8Acts(maxB, cols, gs)
				quantize := func(x []float32, nb int) {
					if packed {
						acts.quantize(x, nb, cols, gs)
					} else {
						quantizeQ8(x[:nb*cols], acts.q, acts.s, gs)
						acts.packed = false
					}
					if acts.packed != packed {
						t.Fatalf("gs=%d: quantized packed=%v, want %v", gs, acts.packed, packed)
					}
				}
				var alone [maxB][]float32
				for b := range alone {
					var out [maxBatchLimit][]float32
					out[0] = make([]float32, rows)
					quantize(x[b*cols:(b+1)*cols], 1)
					matvecQ8(m, 0, rows, acts, 1, &out)
					alone[b] = out[0]
				}
				for nb := 1; nb <= maxB; nb++ {
					var out [maxBatchLimit][]float32
					for b := 0; b < nb; b++ {
						out[b] = make([]float32, rows)
					}
					quantize(x, nb)
					matvecQ8(m, 0, rows, acts, nb, &out)
					for b := 0; b < nb; b++ {
						for row := 0; row < rows; row++ {
							var want, abs float64
							for i := 0; i < cols; i++ {
								p := float64(m.q[row*cols+i]) * float64(m.s[row*ng+i/gs]) * float64(xq[b*cols+i]) * float64(xs[b*ng+i/gs])
								want += p
								abs += math.Abs(p)
							}
							if d := math.Abs(float64(out[b][row]) - want); d > 1e-5*abs+1e-6 {
								t.Fatalf("gs=%d cols=%d packed=%v nb=%d: out[%d][%d] = %v, want %v", gs, cols, packed, nb, b, row, out[b][row], want)
							}
							if out[b][row] != alone[b][row] {
								t.Fatalf("gs=%d cols=%d packed=%v nb=%d: input %d row %d = %v batched, %v alone", gs, cols, packed, nb, b, row, out[b][row], alone[b][row])
							}
						}
					}
				}
			}
		}
	}
}

// TestQuantizeQ8Packed: the packed quantization holds the natural one's
// values, scales and corrections where packedIndex and packedGroup put
// them, for every batch size up to 13 (every kernel group width).
func TestQuantizeQ8Packed(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, gs := range []int{32, 64} {
		cols := 9 * gs
		ng, nm := cols/gs, packedMetaLen(cols/gs)
		const maxB = 13
		x := make([]float32, maxB*cols)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		xq, xs := make([]int16, maxB*cols), make([]float32, maxB*ng)
		quantizeQ8(x, xq, xs, gs)
		for nb := 1; nb <= maxB; nb++ {
			x8, corr, s := make([]int8, nb*cols), make([]int32, nb*nm), make([]float32, nb*nm)
			seen := make([]bool, nb*cols)
			quantizeQ8Packed(x, nb, cols, gs, x8, corr, s)
			for b := 0; b < nb; b++ {
				b0, w := packedGroup(b, nb)
				if b0 > b || b >= b0+w || b0+w > nb {
					t.Fatalf("nb=%d: input %d in group [%d, %d)", nb, b, b0, b0+w)
				}
				for g := 0; g < ng; g++ {
					var sum int32
					for k := 0; k < gs; k++ {
						p := packedIndex(g, k, gs, ng/8)
						at := b0*cols + ((p/32)*w+b-b0)*32 + p%32
						if seen[at] {
							t.Fatalf("nb=%d: input %d group %d value %d lands on a used byte", nb, b, g, k)
						}
						seen[at] = true
						want := xq[b*cols+g*gs+k]
						if int16(x8[at]) != want {
							t.Fatalf("nb=%d: input %d value %d = %d, want %d", nb, b, g*gs+k, x8[at], want)
						}
						sum += int32(want)
					}
					mi := b0*nm + ((g/8)*w+b-b0)*8 + g%8
					if s[mi] != xs[b*ng+g] || corr[mi] != -128*sum {
						t.Fatalf("nb=%d: input %d group %d: scale %v corr %d, want %v %d", nb, b, g, s[mi], corr[mi], xs[b*ng+g], -128*sum)
					}
				}
			}
		}
	}
}

// TestAttentionKernels checks the attention score and value kernels
// against the build's dot and axpy, bit for bit (head sizes with and
// without a vector tail, one to nine positions).
func TestAttentionKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for _, hs := range []int{8, 12, 16, 48, 64, 72} {
		stride := 3*hs + 8
		for n := 1; n <= 9; n++ {
			q, k, v := vec(hs), vec((n-1)*stride+hs), vec((n-1)*stride+hs)
			scale := float32(math.Sqrt(float64(hs)))
			got, want := make([]float32, n), make([]float32, n)
			attnScores(q, k, stride, n, hs, scale, got)
			for i := range want {
				want[i] = dot(q, k[i*stride:i*stride+hs]) / scale
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("hs=%d n=%d: score %d = %v, want %v", hs, n, i, got[i], want[i])
				}
			}
			a := vec(n)
			out, ref := vec(hs), make([]float32, hs)
			copy(ref, out)
			attnValues(a, v, stride, n, hs, out)
			for i := 0; i < n; i++ {
				axpy(a[i], v[i*stride:i*stride+hs], ref)
			}
			for i := range out {
				if out[i] != ref[i] {
					t.Fatalf("hs=%d n=%d: value %d = %v, want %v", hs, n, i, out[i], ref[i])
				}
			}
		}
	}
}

// TestQuantizeQ8Rounding: the branch-free rounding equals math.Round on
// values at and around every half step of the int8 range, and on random
// activations.
func TestQuantizeQ8Rounding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const gs = 32
	// Each group leads with 127, so its scale is 1 and the half steps
	// reach the rounding as they are.
	var vals []float32
	for k := -126; k <= 125; k++ {
		h := float32(k) + 0.5
		vals = append(vals, h, math.Nextafter32(h, 0), math.Nextafter32(h, 200), float32(k))
	}
	var x []float32
	for i, v := range vals {
		if i%(gs-1) == 0 {
			x = append(x, 127)
		}
		x = append(x, v)
	}
	for len(x)%gs != 0 || len(x) < 4096 {
		x = append(x, float32(r.NormFloat64()))
	}
	q, s := make([]int16, len(x)), make([]float32, len(x)/gs)
	quantizeQ8(x, q, s, gs)
	for i, v := range x {
		g := i / gs
		inv := float32(0)
		if s[g] != 0 {
			inv = 1 / s[g]
		}
		want := int16(math.Round(float64(v * inv)))
		if q[i] != want {
			t.Fatalf("x[%d] = %v (scale %v): q = %d, want %d", i, v, s[g], q[i], want)
		}
	}
	// The one-group quantizer the packed layout uses (assembly on amd64)
	// gives the same values, scales and sums, for groups of 32 and 64.
	for _, n := range []int{gs, 2 * gs} {
		g8 := make([]int8, n)
		for j := 0; j+n <= len(x); j += n {
			scale, sum := quantizeGroup(x[j:j+n], g8)
			wscale, _ := q8GroupScale(x[j : j+n])
			var wsum int32
			for k, v := range g8 {
				want := q[j+k]
				if n != gs {
					inv := float32(0)
					if wscale != 0 {
						inv = 1 / wscale
					}
					want = int16(math.Round(float64(x[j+k] * inv)))
				}
				if int16(v) != want {
					t.Fatalf("group of %d at %d: q[%d] = %d, want %d", n, j, k, v, want)
				}
				wsum += int32(want)
			}
			if scale != wscale || sum != wsum {
				t.Fatalf("group of %d at %d: scale %v sum %d, want %v %d", n, j, scale, sum, wscale, wsum)
			}
		}
	}
	zero := make([]int8, gs)
	if scale, sum := quantizeGroup(make([]float32, gs), zero); scale != 0 || sum != 0 {
		t.Fatalf("zero group: scale %v sum %d", scale, sum)
	}
}

// TestArgmax checks the build's argmax against the plain loop (first
// index of the largest value; NaN never wins) on arrays with ties, NaNs
// and infinities, at lengths around every vector boundary.
func TestArgmax(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	ref := func(x []float32) int {
		best := 0
		for i, v := range x {
			if v > x[best] {
				best = i
			}
		}
		return best
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	special := []float32{nan, inf, -inf, 0, float32(math.Copysign(0, -1))}
	for trial := 0; trial < 3000; trial++ {
		n := r.IntN(140)
		if trial%100 == 0 {
			n = 32000
		}
		x := make([]float32, n)
		for i := range x {
			switch k := r.IntN(20); {
			case k == 0:
				x[i] = special[r.IntN(len(special))]
			case k < 10:
				x[i] = float32(r.IntN(5)) // ties
			default:
				x[i] = float32(r.NormFloat64())
			}
		}
		if trial%7 == 0 && n > 0 {
			x[0] = nan
		}
		if trial%11 == 0 {
			for i := range x {
				x[i] = []float32{-inf, nan}[r.IntN(2)]
			}
		}
		if got, want := argmax(x), ref(x); got != want {
			t.Fatalf("n=%d trial %d: argmax = %d, want %d", n, trial, got, want)
		}
	}
}

// TestPackQ8: every weight lands at packedIndex, offset by 128, for rows
// of whole blocks, of a tail only, and of both.
func TestPackQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, gs := range []int{32, 64} {
		for _, ng := range []int{1, 7, 8, 9, 17, 24} {
			rows, cols := 130, ng*gs
			m := &matrix{rows: rows, cols: cols, gs: gs, q: make([]int8, rows*cols), s: make([]float32, rows*ng)}
			for i := range m.q {
				m.q[i] = int8(r.IntN(256) - 128)
			}
			packQ8(m)
			for row := 0; row < rows; row++ {
				for i := 0; i < cols; i++ {
					at := row*cols + packedIndex(i/gs, i%gs, gs, ng/8)
					if want := uint8(m.q[row*cols+i]) ^ 0x80; m.u[at] != want {
						t.Fatalf("gs=%d ng=%d: row %d value %d at %d = %#x, want %#x", gs, ng, row, i, at, m.u[at], want)
					}
				}
			}
		}
	}
}

// packedIndex is the position of byte k of group g in a packed row of
// nblk blocks: the layout q8acts.go describes, written out as the tests'
// oracle.
func packedIndex(g, k, gs, nblk int) int {
	if g >= 8*nblk {
		return g*gs + k
	}
	return (g/8)*8*gs + (k/4)*32 + (g%8)*4 + k%4
}
