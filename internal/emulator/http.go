package emulator

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

type recordKey struct{}

type customDomainKey struct{}

// viaCustomDomain marks the requests of the CustomDomain listener.
func viaCustomDomain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), customDomainKey{}, true)))
	})
}

// oauthHost is the host:port the endpoints MSAL calls have for a request:
// the custom domain's for a request through it, else the TLS listener's.
func (s *Server) oauthHost(r *http.Request) string {
	if custom, _ := r.Context().Value(customDomainKey{}).(bool); custom {
		return s.customHost
	}
	return s.tlsHost
}

// browserOrigin is the origin of the pages for a request: the custom
// domain's for a request through it, else the browser listener's.
func (s *Server) browserOrigin(r *http.Request) string {
	if custom, _ := r.Context().Value(customDomainKey{}).(bool); custom {
		return "https://" + s.customHost
	}
	return s.browserURL
}

// logRequests appends every request to the request log once it is answered.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &Request{Time: s.now()}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
		next.ServeHTTP(sw, r)

		rec.Status = sw.status
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		if r.Form != nil { // parsed by the handler
			rec.GrantType = r.Form.Get("grant_type")
			rec.ClientID = r.Form.Get("client_id")
		}
		if id, _, ok := r.BasicAuth(); ok {
			rec.ClientID, _ = url.QueryUnescape(id)
		}
		s.mu.Lock()
		s.requests = append(s.requests, *rec)
		s.mu.Unlock()
		// Never log the query or the body: they carry codes and tokens.
		s.log.Info("b2c emulator request", "endpoint", rec.Endpoint, "policy", rec.Policy,
			"method", r.Method, "status", rec.Status, "client_id", rec.ClientID, "grant_type", rec.GrantType)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// route names the endpoint in the request log.
func (s *Server) route(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rec, ok := r.Context().Value(recordKey{}).(*Request); ok {
			rec.Endpoint = endpoint
			rec.Policy = strings.ToLower(r.PathValue("policy"))
		}
		next.ServeHTTP(w, r)
	})
}

// policyRoute resolves the {tenant} and {policy} path segments, ignoring
// case as B2C does (MSAL lowercases the authority), and answers 404 for
// unknown ones. The tenant is its onmicrosoft.com domain or its ID.
func (s *Server) policyRoute(endpoint string, h func(http.ResponseWriter, *http.Request, Policy)) http.Handler {
	return s.route(endpoint, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant, name := r.PathValue("tenant"), r.PathValue("policy")
		p, ok := s.policy(name)
		if !ok || !strings.EqualFold(tenant, s.tenantDomain) && !strings.EqualFold(tenant, s.cfg.TenantID) {
			writeJSON(w, http.StatusNotFound, s.b2cError("invalid_request",
				"AADB2C90022: Unable to return metadata for the policy '%s' in tenant '%s'.", name, tenant))
			return
		}
		h(w, r, p)
	}))
}

func (s *Server) policy(name string) (Policy, bool) {
	for _, p := range s.cfg.Policies {
		if strings.EqualFold(p.Name, name) {
			return p, true
		}
	}
	return Policy{}, false
}

func (s *Server) client(id string) (Client, bool) {
	for _, c := range s.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, oauthError{Code: "not_found", Description: "No such endpoint."})
}

// oauthError is an OAuth error response body (RFC 6749 §5.2). B2C sends
// error and error_description only; the fields after them are the identity
// platform's (reference-error-codes.md, Handling error codes in your
// application), set by aadstsError in External ID mode.
type oauthError struct {
	Code          string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	URI           string `json:"error_uri,omitempty"`
	SubError      string `json:"suberror,omitempty"`
}

// b2cError formats a B2C error description: the AADB2C message followed,
// as B2C does, by a correlation ID and a timestamp, so apps must look for the
// code rather than compare whole strings.
func (s *Server) b2cError(code, format string, args ...any) *oauthError {
	return &oauthError{Code: code, Description: fmt.Sprintf(format, args...) +
		"\r\nCorrelation ID: " + newUUID() + "\r\nTimestamp: " + s.now().UTC().Format("2006-01-02 15:04:05Z") + "\r\n"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// addQuery returns u with v added to its query, keeping the query it has
// (RFC 6749 §3.1.2).
func addQuery(u string, v url.Values) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	for k, vs := range v {
		q[k] = append(q[k], vs...)
	}
	parsed.RawQuery = q.Encode()
	return parsed.String()
}
