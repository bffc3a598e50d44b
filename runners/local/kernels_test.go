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

// TestQ8KernelsMatchReference checks the Q8_0 matrix kernel (group sizes
// 32 and 64, one to six inputs) against float64 sums of the dequantized
// products, and batched against alone bit for bit.
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
			xq, xs := make([]int16, maxB*cols), make([]float32, maxB*ng)
			quantizeQ8(x, xq, xs, gs)
			var alone [maxB][]float32
			for nb := 1; nb <= maxB; nb++ {
				var out [maxBatchLimit][]float32
				for b := 0; b < nb; b++ {
					out[b] = make([]float32, rows)
				}
				matvecQ8(m, 0, rows, xq, xs, nb, &out)
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
						t.Fatalf("gs=%d cols=%d nb=%d: row %d = %v batched, %v alone", gs, cols, nb, row, out[0][row], alone[0][row])
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
