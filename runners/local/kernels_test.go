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
// 32 and 64, one to six inputs, with and without the int8 activations the
// VNNI kernels take) against float64 sums of the dequantized products, and
// batched against alone bit for bit.
func TestQ8KernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, gs := range []int{32, 64} {
		for _, cols := range []int{gs, 2 * gs, 6 * gs} {
			rows, ng := 3, cols/gs
			m := &matrix{rows: rows, cols: cols, gs: gs, q: make([]int8, rows*cols), s: make([]float32, rows*ng)}
			for i := range m.q {
				m.q[i] = int8(r.IntN(255) - 127)
			}
			for i := range m.s {
				m.s[i] = float32(r.Float64()) * 0.01
			}
			const maxB = 6
			x := make([]float32, maxB*cols)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			xq, x8, xs := make([]int16, maxB*cols), make([]int8, maxB*cols), make([]float32, maxB*ng)
			quantizeQ8(x, xq, x8, xs, gs)
			for i := range xq {
				if int16(x8[i]) != xq[i] {
					t.Fatalf("int8 activation %d = %d, int16 %d", i, x8[i], xq[i])
				}
			}
			for _, in8 := range [][]int8{nil, x8} {
				var alone [maxB][]float32
				for nb := 1; nb <= maxB; nb++ {
					var out [maxBatchLimit][]float32
					for b := 0; b < nb; b++ {
						out[b] = make([]float32, rows)
					}
					matvecQ8(m, 0, rows, xq, in8, xs, nb, &out)
					for b := 0; b < nb; b++ {
						for row := 0; row < rows; row++ {
							var want, abs float64
							for i := 0; i < cols; i++ {
								p := float64(m.q[row*cols+i]) * float64(m.s[row*ng+i/gs]) * float64(xq[b*cols+i]) * float64(xs[b*ng+i/gs])
								want += p
								abs += math.Abs(p)
							}
							if d := math.Abs(float64(out[b][row]) - want); d > 1e-5*abs+1e-6 {
								t.Fatalf("gs=%d cols=%d nb=%d: out[%d][%d] = %v, want %v", gs, cols, nb, b, row, out[b][row], want)
							}
						}
						if nb == 1 {
							alone[0] = append([]float32(nil), out[0]...)
						}
					}
					// Input 0 computed with nb-1 others matches it alone.
					for row := 0; row < rows; row++ {
						if out[0][row] != alone[0][row] {
							t.Fatalf("gs=%d cols=%d nb=%d int8=%v: row %d = %v batched, %v alone", gs, cols, nb, in8 != nil, row, out[0][row], alone[0][row])
						}
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
	q, q8, s := make([]int16, len(x)), make([]int8, len(x)), make([]float32, len(x)/gs)
	quantizeQ8(x, q, q8, s, gs)
	for i, v := range x {
		g := i / gs
		inv := float32(0)
		if s[g] != 0 {
			inv = 1 / s[g]
		}
		want := int16(math.Round(float64(v * inv)))
		if q[i] != want || int16(q8[i]) != want {
			t.Fatalf("x[%d] = %v (scale %v): q = %d, q8 = %d, want %d", i, v, s[g], q[i], q8[i], want)
		}
	}
}
