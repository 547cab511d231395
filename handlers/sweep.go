package handlers

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
)

// timerInvocation is what the Functions host POSTs to a custom handler for
// a timer trigger. Only IsPastDue is read, and leniently: the host has sent
// ScheduleStatus times in more than one format.
type timerInvocation struct {
	Data map[string]struct {
		IsPastDue bool
	}
}

// invocationResult is the response shape the host expects from a
// non-HTTP invocation; an empty body can hang the invocation.
type invocationResult struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// sweep deletes expired sessions, token caches and pending sign-ins. Only
// the host's timer invocation may: the index function's catch-all route
// forwards a visitor's POST /sweep here too, and gets the 404 page.
func (s *server) sweep(w http.ResponseWriter, r *http.Request) error {
	if !fromHost(r) {
		return notFound(w, r)
	}
	var inv timerInvocation
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	pastDue := false
	if json.Unmarshal(body, &inv) == nil {
		for _, b := range inv.Data {
			pastDue = pastDue || b.IsPastDue
		}
	}
	res := invocationResult{Outputs: map[string]any{}}
	n, err := s.auth.Sweep(r.Context())
	status := http.StatusOK
	if err != nil {
		// The host drops the body of a non-2xx answer, so the stdout line
		// is what reaches Application Insights; the next tick retries.
		s.log.ErrorContext(r.Context(), "sweep failed", "removed", n, "err", err)
		res.Logs = append(res.Logs, fmt.Sprintf("sweep failed after removing %d rows: %v", n, err))
		status = http.StatusInternalServerError
	} else {
		s.log.InfoContext(r.Context(), "swept", "removed", n, "pastDue", pastDue)
		res.Logs = append(res.Logs, fmt.Sprintf("removed %d expired rows", n))
	}
	res.ReturnValue = n
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(res)
}

// fromHost tells the host's own invocation, addressed to the handler's
// loopback socket, from a forwarded request, which keeps the Host header
// the visitor sent: the app's public name.
func fromHost(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	return ok && r.Host == local.String()
}
