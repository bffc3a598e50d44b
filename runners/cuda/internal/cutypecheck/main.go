// Command cutypecheck type-checks runners/cuda and cmd/actorinfer as
// built with -tags cuda (cu.go, gpu_test.go, cuda_on.go included) on a
// machine without the CUDA toolkit: gorgonia.org/cu's import "C" is faked
// (go/types FakeImportC), so its exported API is checked against our use
// of it without cuda.h. It cannot check cgo itself; scripts/gpu-check.sh
// builds for real.
//
//	go run ./runners/cuda/internal/cutypecheck
package main

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

type imp struct {
	tests map[string]bool
	fset  *token.FileSet
	dirs  map[string]string
	def   types.Importer
	done  map[string]*types.Package
}

func (m *imp) Import(path string) (*types.Package, error) {
	if p, ok := m.done[path]; ok {
		return p, nil
	}
	dir, ok := m.dirs[path]
	if !ok {
		return m.def.Import(path)
	}
	p, err := m.check(path, dir, path == "gorgonia.org/cu")
	m.done[path] = p
	return p, err
}

func (m *imp) check(path, dir string, fakeC bool) (*types.Package, error) {
	ctx := build.Default
	ctx.BuildTags = []string{"cuda"}
	ctx.CgoEnabled = true
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	names := append(append([]string{}, bp.GoFiles...), bp.CgoFiles...)
	if m.tests[path] {
		names = append(names, bp.TestGoFiles...)
	}
	for _, f := range names {
		af, err := parser.ParseFile(m.fset, filepath.Join(dir, f), nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, af)
	}
	var errs []error
	conf := types.Config{Importer: m, FakeImportC: fakeC, Error: func(e error) { errs = append(errs, e) }}
	p, _ := conf.Check(path, m.fset, files, nil)
	if fakeC {
		// Errors from the fake C package (unknown constant values) are
		// expected; the exported API is what matters.
		fmt.Printf("%s: %d errors with fake C (ignored)\n", path, len(errs))
		return p, nil
	}
	for _, e := range errs {
		fmt.Println(path+":", e)
	}
	if len(errs) > 0 {
		return p, fmt.Errorf("%d errors in %s", len(errs), path)
	}
	fmt.Printf("%s: %d files type-check (%v)\n", path, len(files), names)
	return p, nil
}

const (
	cudaPkg = "github.com/actorinfer/actorinfer/runners/cuda"
	cmdPkg  = "github.com/actorinfer/actorinfer/cmd/actorinfer"
)

func goList(args ...string) string {
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go %s: %v\n", strings.Join(args, " "), err)
		os.Exit(2)
	}
	return strings.TrimSpace(string(out))
}

func main() {
	fset := token.NewFileSet()
	m := &imp{fset: fset, def: importer.ForCompiler(fset, "source", nil), done: map[string]*types.Package{},
		tests: map[string]bool{cudaPkg: true},
		dirs: map[string]string{
			"gorgonia.org/cu": goList("list", "-m", "-f", "{{.Dir}}", "gorgonia.org/cu"),
			cudaPkg:           goList("list", "-f", "{{.Dir}}", cudaPkg),
			cmdPkg:            goList("list", "-f", "{{.Dir}}", cmdPkg),
		}}
	failed := false
	for _, p := range []string{cudaPkg, cmdPkg} {
		if _, err := m.Import(p); err != nil {
			fmt.Println("FAIL:", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
