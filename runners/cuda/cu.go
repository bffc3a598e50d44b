//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"gorgonia.org/cu"
)

// CUDriver is the Driver over the CUDA driver API (gorgonia.org/cu). It is
// built only with -tags cuda: gorgonia.org/cu needs cuda.h and libcuda, and
// its package init exits the process when no driver is installed.
//
// Every method must be called on the goroutine (locked to its OS thread)
// that created the context: the Runner's owner goroutine. CUDriver calls
// the driver API directly, never through cu.Ctx's work queue.
type CUDriver struct {
	name    string
	devices int
}

var _ Driver = (*CUDriver)(nil)

// NewDriver checks that a CUDA device is present and returns the driver.
func NewDriver() (*CUDriver, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, cuError("cuDeviceGetCount", err)
	}
	if n == 0 {
		return nil, &Error{Op: "cuDeviceGetCount", Code: ErrNoDevice}
	}
	return &CUDriver{name: fmt.Sprintf("cuda driver %d", cu.Version()), devices: n}, nil
}

// DeviceCount returns the number of CUDA devices.
func (d *CUDriver) DeviceCount() int { return d.devices }

// Name implements Driver.
func (d *CUDriver) Name() string { return d.name }

// DeviceInfo returns a device's name and compute capability.
func (d *CUDriver) DeviceInfo(device int) (name string, major, minor int, err error) {
	dev, err := cu.GetDevice(device)
	if err != nil {
		return "", 0, 0, cuError("cuDeviceGet", err)
	}
	if name, err = dev.Name(); err != nil {
		return "", 0, 0, cuError("cuDeviceGetName", err)
	}
	if major, minor, err = dev.ComputeCapability(); err != nil {
		return "", 0, 0, cuError("cuDeviceGetAttribute", err)
	}
	return name, major, minor, nil
}

// PTXFor returns the embedded PTX for a device's compute capability.
func (d *CUDriver) PTXFor(device int) ([]byte, string, error) {
	_, major, minor, err := d.DeviceInfo(device)
	if err != nil {
		return nil, "", err
	}
	return PTXForDevice(major, minor)
}

// CreateContext creates a context on device (blocking synchronization, so
// a waiting owner thread sleeps instead of spinning) and makes it current
// on the calling thread.
func (d *CUDriver) CreateContext(device int) (Context, error) {
	dev, err := cu.GetDevice(device)
	if err != nil {
		return nil, cuError("cuDeviceGet", err)
	}
	c, err := dev.MakeContext(cu.SchedBlockingSync)
	if err != nil {
		return nil, cuError("cuCtxCreate", err)
	}
	return &cuContext{c: c}, nil
}

type cuContext struct {
	c    cu.CUContext
	args []uint64 // launch argument slots, reused
	ptrs []unsafe.Pointer
}

type cuModule struct{ m cu.Module }

type cuFunction struct {
	name string
	f    cu.Function
}

func (f *cuFunction) Name() string { return f.name }

func (m *cuModule) Function(name string) (Function, error) {
	f, err := m.m.Function(name)
	if err != nil {
		return nil, cuError("cuModuleGetFunction("+name+")", err)
	}
	return &cuFunction{name: name, f: f}, nil
}

func (c *cuContext) LoadModule(ptx []byte) (Module, error) {
	// cu.LoadData passes the image as a C string: it must not contain NUL.
	if i := indexNUL(ptx); i >= 0 {
		ptx = ptx[:i]
	}
	m, err := cu.LoadData(string(ptx))
	if err != nil {
		return nil, cuError("cuModuleLoadData", err)
	}
	return &cuModule{m: m}, nil
}

func indexNUL(b []byte) int {
	for i, v := range b {
		if v == 0 {
			return i
		}
	}
	return -1
}

func (c *cuContext) Alloc(n int64) (DevicePtr, error) {
	p, err := cu.MemAlloc(n)
	if err != nil {
		return 0, cuError("cuMemAlloc", err)
	}
	return DevicePtr(p), nil
}

func (c *cuContext) Free(p DevicePtr) error {
	return cuError("cuMemFree", cu.MemFree(cu.DevicePtr(p)))
}

func (c *cuContext) CopyHtoD(dst DevicePtr, src []float32) error {
	if len(src) == 0 {
		return nil
	}
	return cuError("cuMemcpyHtoD", cu.MemcpyHtoD(cu.DevicePtr(dst), unsafe.Pointer(&src[0]), 4*int64(len(src))))
}

func (c *cuContext) CopyDtoH(dst []float32, src DevicePtr) error {
	if len(dst) == 0 {
		return nil
	}
	return cuError("cuMemcpyDtoH", cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), cu.DevicePtr(src), 4*int64(len(dst))))
}

func (c *cuContext) CopyDtoD(dst, src DevicePtr, n int) error {
	if n == 0 {
		return nil
	}
	return cuError("cuMemcpyDtoD", cu.MemcpyDtoD(cu.DevicePtr(dst), cu.DevicePtr(src), 4*int64(n)))
}

// Launch queues fn on the default stream. cu.Function.Launch copies 8
// bytes from each kernelParams pointer into C memory, so every argument
// sits in a 64-bit slot (int32 and float32 in its low half, little-endian:
// cuLaunchKernel reads the parameter's own size from the slot's start).
func (c *cuContext) Launch(fn Function, grid, block Dim3, shared int, args ...any) error {
	f, ok := fn.(*cuFunction)
	if !ok {
		return &Error{Op: "cuLaunchKernel", Code: ErrInvalidHandle}
	}
	c.args = c.args[:0]
	for _, a := range args {
		switch v := a.(type) {
		case DevicePtr:
			c.args = append(c.args, uint64(v))
		case int32:
			c.args = append(c.args, uint64(uint32(v)))
		case float32:
			c.args = append(c.args, uint64(math.Float32bits(v)))
		default:
			return &Error{Op: "cuLaunchKernel(" + f.name + ")", Code: ErrInvalidValue}
		}
	}
	c.ptrs = c.ptrs[:0]
	for i := range c.args {
		c.ptrs = append(c.ptrs, unsafe.Pointer(&c.args[i]))
	}
	err := f.f.Launch(max(grid.X, 1), max(grid.Y, 1), max(grid.Z, 1),
		max(block.X, 1), max(block.Y, 1), max(block.Z, 1), shared, cu.NoStream, c.ptrs)
	return cuError("cuLaunchKernel("+f.name+")", err)
}

func (c *cuContext) Synchronize() error {
	return cuError("cuCtxSynchronize", cu.Synchronize())
}

func (c *cuContext) Destroy() error {
	return cuError("cuCtxDestroy", c.c.Destroy())
}

// cuError wraps a gorgonia.org/cu error (an unexported int type holding
// the CUresult, possibly wrapped by github.com/pkg/errors) as an *Error.
func cuError(op string, err error) error {
	if err == nil {
		return nil
	}
	for e := err; e != nil; {
		if v := reflect.ValueOf(e); v.Kind() == reflect.Int {
			return &Error{Op: op, Code: Result(v.Int())}
		}
		if c, ok := e.(interface{ Cause() error }); ok && c.Cause() != e {
			e = c.Cause()
			continue
		}
		e = errors.Unwrap(e)
	}
	return fmt.Errorf("cuda: %s: %w", op, err)
}
