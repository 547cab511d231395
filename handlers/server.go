// Package handlers is the web layer: routes (all in routes.go), one file per
// route family, and one adapter that turns a handler's error into a page
// and a status code.
package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
	"github.com/b2c-functions-go/b2c-functions-go/internal/logging"
)

//go:embed templates
var templateFS embed.FS

// Deps are what the server needs.
type Deps struct {
	Logger *slog.Logger
	// APIClient calls the protected API; it needs a timeout.
	APIClient *http.Client
	// APIEndpoint is the API /graphcall calls with a token for APIScopes;
	// empty hides Call API.
	APIEndpoint string
	APIScopes   []string
	// Localhost tells pages that the app runs on http://localhost, where
	// some browsers need advice.
	Localhost bool
	// HTTPS: the app's public origin is https, so browsers are told to
	// use nothing else (Strict-Transport-Security, RFC 6797).
	HTTPS bool
	// RequestTimeout is the deadline of each request's calls to Table
	// Storage, B2C and the API together, so that one slow dependency
	// cannot hold a worker; default 30 s.
	RequestTimeout time.Duration
}

// Server is the web layer. New parses its pages; Handler serves the app
// with a sign-in service whose ErrorHandler is RenderError.
type Server struct{ s *server }

// server holds the dependencies the handlers share.
type server struct {
	auth      *auth.Service
	log       *slog.Logger
	api       *http.Client
	endpoint  string
	scopes    []string
	localhost bool
	https     bool
	timeout   time.Duration
	pages     map[string]*template.Template
	css       template.CSS
	csp       string
	msal      string
}

// New returns the web layer, ready to render errors.
func New(d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.APIClient == nil {
		d.APIClient = &http.Client{Timeout: 10 * time.Second}
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 30 * time.Second
	}
	s := &server{log: d.Logger, api: d.APIClient, endpoint: d.APIEndpoint, scopes: d.APIScopes, localhost: d.Localhost, https: d.HTTPS,
		timeout: d.RequestTimeout, msal: msalVersion()}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	return &Server{s}, nil
}

// RenderError is the app's auth.Config.ErrorHandler: every failure, of a
// page or of sign-in, becomes a page here.
func (srv *Server) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	srv.s.renderError(w, r, err)
}

// Handler returns the app's HTTP handler, signing in with svc. Call it once,
// before serving.
func (srv *Server) Handler(svc *auth.Service) http.Handler {
	s := srv.s
	s.auth = svc
	h := s.withDeadline(s.handler())
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, &pageError{Status: http.StatusForbidden, Title: "Request refused",
			Detail: "This request came from another site, so it was refused. Use the buttons on this site's own pages."})
	}))
	h = cop.Handler(h)
	h = s.securityHeaders(h)
	h = s.logRequests(h)
	return h
}

// withDeadline gives each request's context the deadline every call it
// makes shares: a dependency that does not answer in time fails the call,
// and the error page says which.
func (s *server) withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *server) parseTemplates() error {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return err
	}
	s.css = template.CSS(css)
	// The only style is this one inline block, allowed by its hash (CSP
	// Level 2 §4.2.4); no script at all. No form-action: browsers apply it
	// to the redirect after a form, and sign-out redirects to B2C.
	sum := sha256.Sum256(css)
	s.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'; base-uri 'none'"
	s.pages = map[string]*template.Template{}
	for _, name := range []string{"index", "anonymous", "private", "logout", "auth_error", "graphcall"} {
		t, err := template.ParseFS(templateFS, "templates/base.html", "templates/"+name+".html")
		if err != nil {
			return err
		}
		s.pages[name] = t
	}
	return nil
}

func msalVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "github.com/AzureAD/microsoft-authentication-library-for-go" {
				return m.Version
			}
		}
	}
	return "(unknown version)"
}

// page is what every template gets.
type page struct {
	User          *auth.User
	ProfileEdit   bool
	APIConfigured bool
	CSS           template.CSS
	MSALVersion   string
	// Page-specific values.
	Claims string
	Error  *pageError
	API    *apiResult
}

func (s *server) newPage(r *http.Request) *page {
	// s.auth is nil while only errors are rendered (before Handler).
	p := &page{ProfileEdit: s.auth != nil && s.auth.ProfileEditEnabled(), APIConfigured: s.endpoint != "", CSS: s.css, MSALVersion: s.msal}
	p.User, _ = auth.UserFrom(r.Context())
	return p
}

// pageBuffers hold rendered pages until they are written; a page is a few
// kilobytes, which a fresh buffer would reach by doubling on every view.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes a page; rendering to a buffer first means a template error
// becomes a clean 500, not half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // a rare huge page is not kept
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	if err := s.pages[name].ExecuteTemplate(buf, "base", p); err != nil {
		s.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// handlerFunc is a handler that may fail; handle renders its error.
type handlerFunc func(http.ResponseWriter, *http.Request) error

func (s *server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
}

func (s *server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", s.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Pages show personal data: no shared or back-button caches.
		h.Set("Cache-Control", "no-store")
		if s.https {
			// A year, for this host only: sibling sites on the same
			// domain are not this app's to decide.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one line per request: the path but never the query
// (it holds codes and state), with the Functions host's invocation ID so the
// line joins the host's own telemetry in Application Insights.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		if id := r.Header.Get("X-Azure-Functions-InvocationId"); id != "" {
			r = r.WithContext(logging.WithInvocationID(r.Context(), id))
		}
		next.ServeHTTP(rec, r)
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "ms", time.Since(start).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
