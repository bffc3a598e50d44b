package local

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance between a and b in float32 steps.
func ulps(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	if d := ia - ib; d < 0 {
		return -d
	} else {
		return d
	}
}

// TestExpShift checks the build's softmax exponential against math.Exp
// over its whole range (a bound in float32 steps; 0 below e^-87), the sum
// it returns, and that a value gets the same result at any position of
// any length (the vector body and the padded tail agree).
func TestExpShift(t *testing.T) {
	var xs []float32
	for v := float32(-100); v <= 88; v += 1.0 / 1024 {
		xs = append(xs, v)
	}
	r := rand.New(rand.NewPCG(11, 12))
	for range 100000 {
		xs = append(xs, float32(r.Float64()*8-7))
	}
	got := append([]float32(nil), xs...)
	expShift(got, 0)
	var worst int64
	for i, x := range xs {
		want := float32(math.Exp(float64(x)))
		if x < -87 {
			if got[i] != 0 && ulps(got[i], want) > 4 {
				t.Fatalf("e^%v = %v, want 0 or %v", x, got[i], want)
			}
			continue
		}
		if d := ulps(got[i], want); d > worst {
			worst = d
			if d > 4 {
				t.Fatalf("e^%v = %v, want %v (%d ulp)", x, got[i], want, d)
			}
		}
	}
	t.Logf("%s: worst %d ulp", Kernels(), worst)
	// The sum it returns, over values a softmax sees (x - max ≤ 0).
	xs = xs[len(xs)-100000:]
	got = append(got[:0], xs...)
	sum := expShift(got, 1)
	var want64 float64
	for _, v := range got {
		want64 += float64(v)
	}
	if d := math.Abs(float64(sum) - want64); d > 1e-5*want64 {
		t.Fatalf("sum %v, want %v", sum, want64)
	}
	// Shifted: e^(x-m) for m = 3.5, lengths 1..20, against the long run.
	long := make([]float32, 64)
	for i := range long {
		long[i] = float32(r.NormFloat64() * 3)
	}
	ref := append([]float32(nil), long...)
	expShift(ref, 3.5)
	for n := 1; n <= 20; n++ {
		for off := 0; off+n <= len(long); off += 7 {
			x := append([]float32(nil), long[off:off+n]...)
			expShift(x, 3.5)
			for i := range x {
				if x[i] != ref[off+i] {
					t.Fatalf("n=%d off=%d: value %d = %v, %v in the long run", n, off, i, x[i], ref[off+i])
				}
			}
		}
	}
}

// TestSiluGate checks the SwiGLU gate against the float64 formula and its
// position independence.
func TestSiluGate(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const n = 4099
	h, g := make([]float32, n), make([]float32, n)
	for i := range h {
		h[i] = float32(r.NormFloat64() * 6)
		g[i] = float32(r.NormFloat64())
	}
	h[0], h[1], h[2] = -120, 120, 0
	out := append([]float32(nil), h...)
	siluGate(out, g)
	for i, v := range h {
		want := float64(v) / (1 + math.Exp(-float64(v))) * float64(g[i])
		if d := math.Abs(float64(out[i]) - want); d > 1e-6*math.Abs(want)+1e-30 {
			t.Fatalf("silu(%v)·%v = %v, want %v", v, g[i], out[i], want)
		}
	}
	for _, off := range []int{0, 3, 8, 13} {
		for l := 1; l <= 19; l++ {
			x := append([]float32(nil), h[off:off+l]...)
			siluGate(x, g[off:off+l])
			for i := range x {
				if x[i] != out[off+i] {
					t.Fatalf("off=%d len=%d: %d = %v, %v in the long run", off, l, i, x[i], out[off+i])
				}
			}
		}
	}
}
