package train

// Float is the element type of a model: float32 for training, float64 for
// the finite-difference gradient check.
type Float interface{ float32 | float64 }

// kernels are the inner loops every matrix operation is built from.
type kernels[T Float] struct {
	// dot returns Σ a[i]*b[i] over len(a) elements.
	dot func(a, b []T) T
	// axpy does y[i] += a*x[i] over len(x) elements.
	axpy func(a T, x, y []T)
}

// kernelsFor returns the fastest kernels for T on this machine.
func kernelsFor[T Float]() kernels[T] {
	if useSIMD {
		var zero T
		if _, ok := any(zero).(float32); ok {
			return kernels[T]{
				dot:  any(dotSIMD).(func(a, b []T) T),
				axpy: any(axpySIMD).(func(a T, x, y []T)),
			}
		}
	}
	return kernels[T]{dot: dotGo[T], axpy: axpyGo[T]}
}

func dotGo[T Float](a, b []T) T {
	b = b[:len(a)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo[T Float](a T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// linear computes out[t,j] = Σ_k in[t,k]·w[j,k] for n rows of in (n×k),
// w being an m×k matrix: a batch of matrix-vector products.
func (kn kernels[T]) linear(out, in, w []T, n, m, k int) {
	for t := 0; t < n; t++ {
		x := in[t*k : t*k+k]
		o := out[t*m : t*m+m]
		for j := range o {
			o[j] = kn.dot(x, w[j*k:j*k+k])
		}
	}
}

// linearBackIn accumulates dIn[t,:] += Σ_j dOut[t,j]·w[j,:].
func (kn kernels[T]) linearBackIn(dIn, dOut, w []T, n, m, k int) {
	for t := 0; t < n; t++ {
		d := dIn[t*k : t*k+k]
		g := dOut[t*m : t*m+m]
		for j, gj := range g {
			if gj != 0 {
				kn.axpy(gj, w[j*k:j*k+k], d)
			}
		}
	}
}

// linearBackW accumulates dW[j,:] += Σ_t dOut[t,j]·in[t,:].
func (kn kernels[T]) linearBackW(dW, dOut, in []T, n, m, k int) {
	for j := 0; j < m; j++ {
		d := dW[j*k : j*k+k]
		for t := 0; t < n; t++ {
			if g := dOut[t*m+j]; g != 0 {
				kn.axpy(g, in[t*k:t*k+k], d)
			}
		}
	}
}
