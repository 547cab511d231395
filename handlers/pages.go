package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

func (s *server) index(w http.ResponseWriter, r *http.Request) error {
	p := s.newPage(r)
	if p.User != nil {
		var b bytes.Buffer
		if err := json.Indent(&b, p.User.Claims.Raw, "", "  "); err != nil {
			return err
		}
		p.Claims = b.String()
	}
	s.render(w, r, http.StatusOK, "index", p)
	return nil
}

func (s *server) anonymous(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "anonymous", s.newPage(r))
	return nil
}

// private is the example of a team's own protected page: it uses only the
// auth package's surface.
func (s *server) private(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "private", s.newPage(r))
	return nil
}

// healthz answers without touching any dependency.
func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 once sign-in can work: the session table answers and
// the sign-in user flow's discovery document is at hand, from the cache
// sign-ins use (the last good one while B2C does not answer). It names the
// part that does not, and logs why.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.auth.Ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		part := "sign-in"
		if e, ok := errors.AsType[*auth.NotReadyError](err); ok {
			part = e.Dependency
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %s\n", part)
		return
	}
	w.Write([]byte("ready\n"))
}

func notFound(w http.ResponseWriter, r *http.Request) error {
	return &pageError{Status: http.StatusNotFound, Title: "Page not found", Detail: "There is no page at this address."}
}
