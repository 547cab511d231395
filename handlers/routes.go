package handlers

import "net/http"

// routes registers every route of the app. functions/*/function.json must
// name the same paths and methods; a test holds the two together.
func (s *server) routes(mux *http.ServeMux) {
	mux.Handle("GET /{$}", s.handle(s.index))
	mux.Handle("GET /anonymous", s.handle(s.anonymous))
	mux.Handle("GET /healthz", http.HandlerFunc(healthz))
	mux.Handle("GET /login", s.handle(s.login))
	mux.Handle("GET "+s.cfg.RedirectPath, s.handle(s.auth.Callback))
	mux.Handle("GET /logout", s.handle(s.logoutPage))
	mux.Handle("POST /logout", s.handle(s.auth.SignOut))
	mux.Handle("GET /editProfile", s.handle(s.auth.EditProfile))
	mux.Handle("GET /private", s.auth.RequireSignIn(s.handle(s.private)))
	mux.Handle("GET /graphcall", s.auth.RequireSignIn(s.handle(s.graphcall)))
	mux.Handle("/", s.handle(notFound))
}
