//go:build !amd64

package train

const useSIMD = false

func dotSIMD(a, b []float32) float32     { return dotGo(a, b) }
func axpySIMD(a float32, x, y []float32) { axpyGo(a, x, y) }
