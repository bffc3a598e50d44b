package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestKernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	kn := kernelsFor[float32]()
	for _, n := range []int{0, 1, 3, 7, 8, 9, 31, 32, 33, 64, 100, 128, 257} {
		a := make([]float32, n)
		b := make([]float32, n+5)
		for i := range a {
			a[i] = r.Float32()*2 - 1
		}
		for i := range b {
			b[i] = r.Float32()*2 - 1
		}
		got, want := kn.dot(a, b), dotGo(a, b)
		if math.Abs(float64(got-want)) > 1e-5*float64(n+1) {
			t.Errorf("dot(n=%d) = %v, want %v", n, got, want)
		}
		y1 := append([]float32(nil), b...)
		y2 := append([]float32(nil), b...)
		kn.axpy(0.7, a, y1)
		axpyGo(0.7, a, y2)
		for i := range y1 {
			if math.Abs(float64(y1[i]-y2[i])) > 1e-6 {
				t.Fatalf("axpy(n=%d)[%d] = %v, want %v", n, i, y1[i], y2[i])
			}
		}
	}
}

func BenchmarkDot128(b *testing.B) {
	kn := kernelsFor[float32]()
	x := make([]float32, 128)
	y := make([]float32, 128)
	for b.Loop() {
		kn.dot(x, y)
	}
}

func BenchmarkDotGo128(b *testing.B) {
	x := make([]float32, 128)
	y := make([]float32, 128)
	for b.Loop() {
		dotGo(x, y)
	}
}
