package testenv

import (
	"runtime"
	"sync"
	"testing"
)

// A shared Azurite that failed to start fails each test that asks for it,
// cleanly, instead of handing the second one a nil.
func TestSharedAzuriteFailureRepeats(t *testing.T) {
	started := sharedAzurite
	reset := func() { sharedOnce, sharedAzurite, sharedErr = sync.Once{}, nil, nil }
	t.Cleanup(func() {
		reset() // the next caller starts one, or gets the one already running
		if started != nil {
			sharedOnce.Do(func() { sharedAzurite = started })
		}
	})
	reset()
	t.Setenv(SharedAzuritePort, "")
	t.Chdir(t.TempDir()) // no go.mod above: the start fails
	for i := range 2 {
		failed := runIsolated(func(tb testing.TB) { SharedAzurite(tb) })
		if !failed {
			t.Fatalf("call %d: SharedAzurite did not fail the test", i+1)
		}
	}
}

// runIsolated runs f with a testing.TB of its own and reports whether f
// failed it; f's Fatal ends only f.
func runIsolated(f func(testing.TB)) (failed bool) {
	tb := &recordingTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb.failed
}

type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Fatal(args ...any)     { r.failed = true; runtime.Goexit() }
func (r *recordingTB) Fatalf(string, ...any) { r.failed = true; runtime.Goexit() }
