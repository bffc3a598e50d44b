package cuda

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestKernelsOnHostEmulator compiles kernels/*.cu — the CUDA C sources of
// the committed PTX — as C++ under kernels/hostemu (one thread per CUDA
// thread, barriers for __syncthreads, warp shuffles through shared
// memory) and checks every kernel against double-precision loops, with
// the launch shapes the runner uses. It checks the kernels' indexing and
// reductions without a GPU; it needs a C++ compiler (clang++ or g++).
func TestKernelsOnHostEmulator(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("skipping: the host emulation uses POSIX barriers (linux)")
	}
	cxx := ""
	for _, c := range []string{"clang++", "g++"} {
		if p, err := exec.LookPath(c); err == nil {
			cxx = p
			break
		}
	}
	if cxx == "" {
		t.Skip("skipping: no C++ compiler (clang++ or g++) to build the host emulation of the kernels")
	}
	bin := filepath.Join(t.TempDir(), "emucheck")
	build := exec.Command(cxx, "-std=c++17", "-O1", "-pthread", "-DHOST_EMU", "-o", bin, filepath.Join("kernels", "hostemu", "check.cpp"))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", build, err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("host emulation of the kernels: %v", err)
	}
}
