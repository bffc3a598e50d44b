//go:build amd64 && !purego

#include "textflag.h"

// AVX2 + FMA kernels for amd64. Each processes a prefix whose length is a
// multiple of 8 (32 for Q8_0 groups); the Go wrappers in kernels_amd64.go
// add the tails. Every fp32 product keeps one 8-wide accumulator per
// (row, input) pair, reduced by HSUM8, so one input's sum does not depend
// on which other inputs share the pass.

// HSUM8 leaves in the low lane of X the sum of the 8 lanes of Y (X its low
// half) as ((t0+t1)+(t2+t3)) with t = low half + high half. T is scratch.
#define HSUM8(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS       T, X, X; \
	VMOVSHDUP    X, T; \
	VADDPS       T, X, X; \
	VMOVHLPS     X, T, T; \
	VADDSS       T, X, X

// func dotF32AVX2(w, x *float32, n int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0

dot1loop:
	VMOVUPS     (SI)(AX*1), Y1
	VFMADD231PS (DI)(AX*1), Y1, Y0
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          dot1loop
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS       X0, ret+24(FP)
	RET

// func dot4F32AVX2(w, x0, x1, x2, x3 *float32, n int, out *[4]float32)
TEXT ·dot4F32AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ x0+8(FP), R8
	MOVQ x1+16(FP), R9
	MOVQ x2+24(FP), R10
	MOVQ x3+32(FP), R11
	MOVQ n+40(FP), CX
	MOVQ out+48(FP), DI
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot4loop:
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (R8)(AX*1), Y4, Y0
	VFMADD231PS (R9)(AX*1), Y4, Y1
	VFMADD231PS (R10)(AX*1), Y4, Y2
	VFMADD231PS (R11)(AX*1), Y4, Y3
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          dot4loop
	HSUM8(Y0, X0, X5)
	MOVSS       X0, 0(DI)
	HSUM8(Y1, X1, X5)
	MOVSS       X1, 4(DI)
	HSUM8(Y2, X2, X5)
	MOVSS       X2, 8(DI)
	HSUM8(Y3, X3, X5)
	MOVSS       X3, 12(DI)
	VZEROUPPER
	RET

// func dot24F32AVX2(w0, w1, x0, x1, x2, x3 *float32, n int, out *[8]float32)
// out[0:4] are row w0 with x0..x3, out[4:8] row w1.
TEXT ·dot24F32AVX2(SB), NOSPLIT, $0-64
	MOVQ w0+0(FP), SI
	MOVQ w1+8(FP), DX
	MOVQ x0+16(FP), R8
	MOVQ x1+24(FP), R9
	MOVQ x2+32(FP), R10
	MOVQ x3+40(FP), R11
	MOVQ n+48(FP), CX
	MOVQ out+56(FP), DI
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dot24loop:
	VMOVUPS     (SI)(AX*1), Y8
	VMOVUPS     (DX)(AX*1), Y9
	VMOVUPS     (R8)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS     (R9)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y11, Y9, Y5
	VMOVUPS     (R10)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y6
	VMOVUPS     (R11)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y3
	VFMADD231PS Y11, Y9, Y7
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          dot24loop
	HSUM8(Y0, X0, X8)
	MOVSS       X0, 0(DI)
	HSUM8(Y1, X1, X8)
	MOVSS       X1, 4(DI)
	HSUM8(Y2, X2, X8)
	MOVSS       X2, 8(DI)
	HSUM8(Y3, X3, X8)
	MOVSS       X3, 12(DI)
	HSUM8(Y4, X4, X8)
	MOVSS       X4, 16(DI)
	HSUM8(Y5, X5, X8)
	MOVSS       X5, 20(DI)
	HSUM8(Y6, X6, X8)
	MOVSS       X6, 24(DI)
	HSUM8(Y7, X7, X8)
	MOVSS       X7, 28(DI)
	VZEROUPPER
	RET

// func axpyF32AVX2(a float32, x, y *float32, n int)
TEXT ·axpyF32AVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	SHLQ         $2, CX
	XORQ         AX, AX

axpyloop:
	VMOVUPS     (SI)(AX*1), Y1
	VFMADD213PS (DI)(AX*1), Y0, Y1
	VMOVUPS     Y1, (DI)(AX*1)
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          axpyloop
	VZEROUPPER
	RET

// func dotQ8AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs int) float32
// gs is a multiple of 32 and n of gs.
TEXT ·dotQ8AVX2(SB), NOSPLIT, $0-52
	MOVQ q+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ xq+16(FP), DI
	MOVQ xs+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ gs+40(FP), R8
	XORQ AX, AX
	VXORPS Y5, Y5, Y5

q1group:
	LEAQ  (AX)(R8*1), R9
	VPXOR Y3, Y3, Y3

q1inner:
	VPMOVSXBW (SI)(AX*1), Y1
	VPMOVSXBW 16(SI)(AX*1), Y2
	VPMADDWD  (DI)(AX*2), Y1, Y1
	VPMADDWD  32(DI)(AX*2), Y2, Y2
	VPADDD    Y1, Y3, Y3
	VPADDD    Y2, Y3, Y3
	ADDQ      $32, AX
	CMPQ      AX, R9
	JB        q1inner
	VCVTDQ2PS    Y3, Y3
	VMOVSS       (BX), X4
	VMULSS       (DX), X4, X4
	VBROADCASTSS X4, Y4
	VFMADD231PS  Y4, Y3, Y5
	ADDQ         $4, BX
	ADDQ         $4, DX
	CMPQ         AX, CX
	JB           q1group
	HSUM8(Y5, X5, X6)
	VZEROUPPER
	MOVSS        X5, ret+48(FP)
	RET

// func dotQ8x4AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs, ng int, out *[4]float32)
// Four inputs back to back: xq holds n values each, xs ng = n/gs scales each.
TEXT ·dotQ8x4AVX2(SB), NOSPLIT, $0-64
	MOVQ q+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ xq+16(FP), DI
	MOVQ xs+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ gs+40(FP), R8
	LEAQ (DI)(CX*2), R10
	LEAQ (R10)(CX*2), R11
	LEAQ (R11)(CX*2), R12
	MOVQ ng+48(FP), R13
	SHLQ $2, R13        // bytes between the inputs' scales
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

q4group:
	LEAQ  (AX)(R8*1), R9
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

q4inner:
	VPMOVSXBW (SI)(AX*1), Y8
	VPMOVSXBW 16(SI)(AX*1), Y9
	VPMADDWD  (DI)(AX*2), Y8, Y10
	VPMADDWD  32(DI)(AX*2), Y9, Y11
	VPADDD    Y10, Y4, Y4
	VPADDD    Y11, Y4, Y4
	VPMADDWD  (R10)(AX*2), Y8, Y10
	VPMADDWD  32(R10)(AX*2), Y9, Y11
	VPADDD    Y10, Y5, Y5
	VPADDD    Y11, Y5, Y5
	VPMADDWD  (R11)(AX*2), Y8, Y10
	VPMADDWD  32(R11)(AX*2), Y9, Y11
	VPADDD    Y10, Y6, Y6
	VPADDD    Y11, Y6, Y6
	VPMADDWD  (R12)(AX*2), Y8, Y10
	VPMADDWD  32(R12)(AX*2), Y9, Y11
	VPADDD    Y10, Y7, Y7
	VPADDD    Y11, Y7, Y7
	ADDQ      $32, AX
	CMPQ      AX, R9
	JB        q4inner
	VMOVSS       (BX), X8
	VCVTDQ2PS    Y4, Y4
	VMULSS       (DX), X8, X9
	VBROADCASTSS X9, Y9
	VFMADD231PS  Y9, Y4, Y0
	VCVTDQ2PS    Y5, Y5
	VMULSS       (DX)(R13*1), X8, X9
	VBROADCASTSS X9, Y9
	VFMADD231PS  Y9, Y5, Y1
	VCVTDQ2PS    Y6, Y6
	VMULSS       (DX)(R13*2), X8, X9
	VBROADCASTSS X9, Y9
	VFMADD231PS  Y9, Y6, Y2
	LEAQ         (R13)(R13*2), R9
	VCVTDQ2PS    Y7, Y7
	VMULSS       (DX)(R9*1), X8, X9
	VBROADCASTSS X9, Y9
	VFMADD231PS  Y9, Y7, Y3
	ADDQ         $4, BX
	ADDQ         $4, DX
	CMPQ         AX, CX
	JB           q4group
	MOVQ         out+56(FP), DI
	HSUM8(Y0, X0, X8)
	MOVSS        X0, 0(DI)
	HSUM8(Y1, X1, X8)
	MOVSS        X1, 4(DI)
	HSUM8(Y2, X2, X8)
	MOVSS        X2, 8(DI)
	HSUM8(Y3, X3, X8)
	MOVSS        X3, 12(DI)
	VZEROUPPER
	RET
