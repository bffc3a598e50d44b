package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/actorinfer/actorinfer/runners"
)

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code   Result
		fault  bool
		wantCo runners.Code
	}{
		{ErrIllegalAddress, true, runners.CodeCudaContextPoisoned},
		{ErrLaunchTimeout, true, runners.CodeCudaContextPoisoned},
		{ErrAssert, true, runners.CodeCudaContextPoisoned},
		{ErrHardwareStackError, true, runners.CodeCudaContextPoisoned},
		{ErrIllegalInstruction, true, runners.CodeCudaContextPoisoned},
		{ErrMisalignedAddress, true, runners.CodeCudaContextPoisoned},
		{ErrInvalidAddressSpace, true, runners.CodeCudaContextPoisoned},
		{ErrInvalidPC, true, runners.CodeCudaContextPoisoned},
		{ErrLaunchFailed, true, runners.CodeCudaContextPoisoned},
		{ErrCooperativeLaunchLarge, false, runners.CodeInternal},
		{ErrOutOfMemory, false, runners.CodeUnsupported},
		{ErrLaunchOutOfResources, false, runners.CodeUnsupported},
		{ErrInvalidValue, false, runners.CodeInternal},
		{ErrInvalidPTX, false, runners.CodeInternal},
	} {
		err := Classify(&Error{Op: "test", Code: tc.code})
		c := runners.Classify(err)
		if c.SessionFault != tc.fault || c.Code != tc.wantCo {
			t.Errorf("Classify(%v) = %+v, want session fault %v, code %v", tc.code, c, tc.fault, tc.wantCo)
		}
		if tc.fault && c.Cause != runners.CudaContextPoisoned {
			t.Errorf("Classify(%v).Cause = %v, want cuda_context_poisoned", tc.code, c.Cause)
		}
		var de *Error
		if !errors.As(err, &de) && tc.fault {
			t.Errorf("Classify(%v) lost the driver error", tc.code)
		}
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

func TestFakeOutOfBoundsPoisonsContext(t *testing.T) {
	d := NewFakeDriver()
	c, err := d.CreateContext(0)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := c.LoadModule(testPTX(t))
	if err != nil {
		t.Fatal(err)
	}
	mv, err := mod.Function("matvec")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mod.Function("nope"); err == nil {
		t.Fatal("Function(nope) = nil error")
	}
	out, _ := c.Alloc(4 * 2)
	w, _ := c.Alloc(4 * 4)
	x, _ := c.Alloc(4 * 2)
	c.CopyHtoD(w, []float32{1, 2, 3, 4})
	c.CopyHtoD(x, []float32{10, 100})
	if err := c.Launch(mv, Dim3{X: 1}, Dim3{X: 256}, 0, out, w, x, int32(2), int32(2)); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 2)
	if err := c.CopyDtoH(got, out); err != nil || got[0] != 210 || got[1] != 430 {
		t.Fatalf("matvec = %v, %v; want [210 430]", got, err)
	}
	// Wrong argument types are a non-sticky invalid value.
	var de *Error
	if err := c.Launch(mv, Dim3{X: 1}, Dim3{X: 256}, 0, out, w, x, 2, int32(2)); !errors.As(err, &de) || de.Code != ErrInvalidValue {
		t.Fatalf("Launch with an int arg = %v, want invalid value", err)
	}
	// Three rows of a two-row buffer: an illegal address, and sticky.
	if err := c.Launch(mv, Dim3{X: 1}, Dim3{X: 256}, 0, out, w, x, int32(3), int32(2)); !errors.As(err, &de) || de.Code != ErrIllegalAddress {
		t.Fatalf("out-of-bounds launch = %v, want illegal address", err)
	}
	if err := c.Synchronize(); !errors.As(err, &de) || de.Code != ErrIllegalAddress {
		t.Fatalf("Synchronize after the fault = %v, want illegal address", err)
	}
	if _, err := d.CreateContext(0); err == nil {
		t.Fatal("a second context while one lives = nil error")
	}
	if err := c.Destroy(); err != nil {
		t.Fatal(err)
	}
	c2, err := d.CreateContext(0)
	if err != nil {
		t.Fatalf("CreateContext after Destroy = %v", err)
	}
	if _, err := c2.Alloc(16); err != nil {
		t.Fatal(err)
	}
	c2.Destroy()
}

// TestPTXMatchesFake checks that the committed PTX declares exactly the
// kernels the fake implements, with the same parameter lists.
func TestPTXMatchesFake(t *testing.T) {
	ptx := readFile(t, filepath.Join("kernels", "kernels_sm_80.ptx"))
	entries := parsePTXEntries(ptx)
	if len(entries) != len(fakeKernels) {
		t.Errorf("PTX has %d entries, the fake %d", len(entries), len(fakeKernels))
	}
	for name, k := range fakeKernels {
		params, ok := entries[name]
		if !ok {
			t.Errorf("PTX lacks %s", name)
			continue
		}
		if params != k.params {
			t.Errorf("%s: PTX params %q, fake %q", name, params, k.params)
		}
	}
	for _, n := range kernelNames {
		if _, ok := fakeKernels[n]; !ok {
			t.Errorf("kernel %s has no fake", n)
		}
	}
	if _, arch, err := PTXForDevice(9, 0); err != nil || arch == "" {
		t.Errorf("PTXForDevice(9, 0) = %q, %v", arch, err)
	}
	if _, _, err := PTXForDevice(7, 5); err == nil {
		t.Error("PTXForDevice(7, 5) = nil error, want none (the kernels need sm_80)")
	}
}

func ExampleClassify() {
	err := Classify(&Error{Op: "cuLaunchKernel(matvec)", Code: ErrIllegalAddress})
	c := runners.Classify(err)
	fmt.Println(c.SessionFault, c.Cause, c.Code)
	fmt.Println(runners.Classify(Classify(&Error{Op: "cuMemAlloc", Code: ErrOutOfMemory})).Code)
	// Output:
	// true cuda_context_poisoned ERROR_CODE_CUDA_CONTEXT_POISONED
	// ERROR_CODE_UNSUPPORTED
}

// FuzzLoadModule feeds arbitrary PTX text to the fake driver: it must
// accept or refuse it with an *Error, never panic.
func FuzzLoadModule(f *testing.F) {
	ptx, _ := PTX("sm_80")
	f.Add(ptx)
	f.Add([]byte(".version 7.0\n.target sm_80\n.visible .entry nope(\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewFakeDriver()
		c, err := d.CreateContext(0)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Destroy()
		if _, err := c.LoadModule(b); err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("LoadModule error %v is not an *Error", err)
			}
		}
	})
}
