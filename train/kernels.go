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
	// axpy4 does y[i] += Σ_r a[r]*x[r*stride+i] for r < 4, i < len(y).
	axpy4 func(a *[4]T, x []T, stride int, y []T)
	// dot4 sets out[r] = Σ_i x[i]*w[r*stride+i] for r < 4, i < len(x).
	dot4 func(x, w []T, stride int, out *[4]T)
}

// kernelsFor returns the fastest kernels for T on this machine.
func kernelsFor[T Float]() kernels[T] {
	if useSIMD {
		var zero T
		if _, ok := any(zero).(float32); ok {
			return kernels[T]{
				dot:   any(dotSIMD).(func(a, b []T) T),
				axpy:  any(axpySIMD).(func(a T, x, y []T)),
				axpy4: any(axpy4SIMD).(func(a *[4]T, x []T, stride int, y []T)),
				dot4:  any(dot4SIMD).(func(x, w []T, stride int, out *[4]T)),
			}
		}
	}
	return kernels[T]{dot: dotGo[T], axpy: axpyGo[T], axpy4: axpy4Go[T], dot4: dot4Go[T]}
}

func axpy4Go[T Float](a *[4]T, x []T, stride int, y []T) {
	for r := 0; r < 4; r++ {
		axpyGo(a[r], x[r*stride:r*stride+len(y)], y)
	}
}

func dot4Go[T Float](x, w []T, stride int, out *[4]T) {
	for r := 0; r < 4; r++ {
		out[r] = dotGo(x, w[r*stride:r*stride+len(x)])
	}
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
	var o4 [4]T
	for t := 0; t < n; t++ {
		x := in[t*k : t*k+k]
		o := out[t*m : t*m+m]
		j := 0
		for ; j+4 <= m; j += 4 {
			kn.dot4(x, w[j*k:], k, &o4)
			copy(o[j:j+4], o4[:])
		}
		for ; j < m; j++ {
			o[j] = kn.dot(x, w[j*k:j*k+k])
		}
	}
}

// linearBackIn accumulates dIn[t,:] += Σ_j dOut[t,j]·w[j,:].
func (kn kernels[T]) linearBackIn(dIn, dOut, w []T, n, m, k int) {
	var a [4]T
	for t := 0; t < n; t++ {
		d := dIn[t*k : t*k+k]
		g := dOut[t*m : t*m+m]
		j := 0
		for ; j+4 <= m; j += 4 {
			copy(a[:], g[j:j+4])
			kn.axpy4(&a, w[j*k:], k, d)
		}
		for ; j < m; j++ {
			kn.axpy(g[j], w[j*k:j*k+k], d)
		}
	}
}

// linearBackW accumulates dW[j,:] += Σ_t dOut[t,j]·in[t,:].
func (kn kernels[T]) linearBackW(dW, dOut, in []T, n, m, k int) {
	var a [4]T
	for j := 0; j < m; j++ {
		d := dW[j*k : j*k+k]
		t := 0
		for ; t+4 <= n; t += 4 {
			a = [4]T{dOut[t*m+j], dOut[(t+1)*m+j], dOut[(t+2)*m+j], dOut[(t+3)*m+j]}
			kn.axpy4(&a, in[t*k:], k, d)
		}
		for ; t < n; t++ {
			kn.axpy(dOut[t*m+j], in[t*k:t*k+k], d)
		}
	}
}
