package auth_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// No exported name of the package mentions a type of an internal package:
// another module could reach such a value but never name its type.
func TestExportedSurfaceNamesNoInternalType(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(testenv.Root(t), "auth", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		internal := map[string]string{} // local name → import path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, "/internal/") {
				local := filepath.Base(path)
				if imp.Name != nil {
					local = imp.Name.Name
				}
				internal[local] = path
			}
		}
		report := func(where string, expr ast.Node) {
			checked++
			ast.Inspect(expr, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && internal[x.Name] != "" {
						t.Errorf("%s: %s names %s.%s from %s", fset.Position(sel.Pos()), where, x.Name, sel.Sel.Name, internal[x.Name])
					}
				}
				return true
			})
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && (d.Recv == nil || exportedReceiver(d.Recv)) {
					report(d.Name.Name, d.Type)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							reportType(s, report)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && s.Type != nil {
								report(n.Name, s.Type)
							}
						}
					}
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d exported names: is the package where this test looks?", checked)
	}
}

// reportType checks an exported type: its exported fields and methods, or
// the type it is defined as.
func reportType(s *ast.TypeSpec, report func(string, ast.Node)) {
	switch typ := s.Type.(type) {
	case *ast.StructType:
		for _, field := range typ.Fields.List {
			for _, n := range field.Names {
				if n.IsExported() {
					report(s.Name.Name+"."+n.Name, field.Type)
				}
			}
			if len(field.Names) == 0 { // embedded: exported if its type is
				report(s.Name.Name+" (embedded)", field.Type)
			}
		}
	case *ast.InterfaceType:
		report(s.Name.Name, typ)
	default:
		report(s.Name.Name, typ)
	}
}

func exportedReceiver(recv *ast.FieldList) bool {
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}
