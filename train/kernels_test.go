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

func TestBlockedKernelsMatchGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	kn := kernelsFor[float32]()
	for _, n := range []int{1, 5, 8, 13, 16, 24, 32, 40, 128} {
		stride := n + 3
		x := make([]float32, 4*stride)
		y := make([]float32, n)
		for i := range x {
			x[i] = r.Float32()*2 - 1
		}
		for i := range y {
			y[i] = r.Float32()*2 - 1
		}
		a := [4]float32{0.5, -1, 2, 0.25}
		y1 := append([]float32(nil), y...)
		y2 := append([]float32(nil), y...)
		kn.axpy4(&a, x, stride, y1)
		axpy4Go(&a, x, stride, y2)
		for i := range y1 {
			if math.Abs(float64(y1[i]-y2[i])) > 1e-5 {
				t.Fatalf("axpy4(n=%d)[%d] = %v, want %v", n, i, y1[i], y2[i])
			}
		}
		var o1, o2 [4]float32
		kn.dot4(y, x, stride, &o1)
		dot4Go(y, x, stride, &o2)
		for i := range o1 {
			if math.Abs(float64(o1[i]-o2[i])) > 1e-5*float64(n) {
				t.Fatalf("dot4(n=%d)[%d] = %v, want %v", n, i, o1[i], o2[i])
			}
		}
	}
}
