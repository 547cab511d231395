package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// goBench is the median of the runs of one Go benchmark.
type goBench struct {
	Name                   string
	Runs                   int
	NsPerOp, BPerOp, Alloc float64
	NsPerRound             []float64 // ns/op of each round, in order
}

var benchLine = regexp.MustCompile(`^(Benchmark\w+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// goBenchArgs is the go test command that runs one cmd/handler benchmark
// once.
func goBenchArgs(name, benchtime string) []string {
	args := []string{"go", "test", "-run", "^$", "-bench", "^" + name + "$", "-count", "1", "-benchmem"}
	if benchtime != "" {
		args = append(args, "-benchtime", benchtime)
	}
	return append(args, "./cmd/handler")
}

// goBenchmarks runs each benchmark named count times, as goBenchArgs does,
// with the test binary built at the start, and returns the median of each
// figure over the runs. Each run is a process of its own, on the Azurite
// at azuritePort, the one the bench's other measurements used, and the runs
// go round the names, in an order shuffled each round: every benchmark
// meets the same Azurite, and the machine's drift over the minutes of the
// runs falls on all of them alike.
func goBenchmarks(ctx context.Context, root, dir string, azuritePort int, names []string, count int, benchtime string) ([]goBench, error) {
	runs := map[string][][3]float64{}
	order := slices.Clone(names)
	shuffle := rand.New(rand.NewPCG(1, 2))
	for range count {
		// No benchmark always runs first, or always after the same other.
		shuffle.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, name := range order {
			var args []string
			for _, a := range goBenchArgs(name, benchtime)[2:] {
				if strings.HasPrefix(a, "-") {
					a = "-test." + a[1:]
				}
				if a != "./cmd/handler" {
					args = append(args, a)
				}
			}
			cmd := exec.CommandContext(ctx, filepath.Join(dir, "handler.test"), args...)
			cmd.Dir = filepath.Join(root, "cmd", "handler") // as go test runs it
			cmd.Env = append(os.Environ(), testenv.SharedAzuritePort+"="+strconv.Itoa(azuritePort))
			out, err := cmd.CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("handler.test %s: %w\n%s", strings.Join(args, " "), err, out)
			}
			found := false
			for line := range strings.Lines(string(out)) {
				m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
				if m == nil || m[1] != name {
					continue
				}
				var v [3]float64
				for i := range v {
					v[i], _ = strconv.ParseFloat(m[i+2], 64)
				}
				runs[name], found = append(runs[name], v), true
			}
			if !found {
				return nil, fmt.Errorf("go test printed no result for %s:\n%s", name, out)
			}
		}
	}
	var res []goBench
	for _, name := range names {
		r := runs[name]
		figure := func(i int) []float64 {
			vs := make([]float64, len(r))
			for j := range r {
				vs[j] = r[j][i]
			}
			return vs
		}
		ns := figure(0)
		res = append(res, goBench{Name: name, Runs: len(r), NsPerOp: median(ns), BPerOp: median(figure(1)), Alloc: median(figure(2)), NsPerRound: ns})
	}
	return res, nil
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	vs = slices.Sorted(slices.Values(vs))
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}
