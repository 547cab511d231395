package handlers

import (
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/internal/config"
)

// A Route is one route of the app and the Azure Functions function whose
// trigger forwards it: functions/<Function>/function.json names the same
// route and methods, and a test holds the two together.
type Route struct {
	Function string
	Method   string
	// Pattern is the net/http pattern path.
	Pattern string
}

type route struct {
	Route
	h http.Handler
}

// routes lists every route of the app, in one place.
func (s *server) routes() []route {
	return []route{
		{Route{"index", "GET", "/{$}"}, s.handle(s.index)},
		{Route{"anonymous", "GET", "/anonymous"}, s.handle(s.anonymous)},
		{Route{"healthz", "GET", "/healthz"}, http.HandlerFunc(healthz)},
		{Route{"login", "GET", "/login"}, s.handle(s.login)},
		{Route{"getAToken", "GET", config.RedirectPath}, s.handle(s.auth.Callback)},
		{Route{"logout", "GET", "/logout"}, s.handle(s.logoutPage)},
		{Route{"logout", "POST", "/logout"}, s.handle(s.auth.SignOut)},
		{Route{"editProfile", "GET", "/editProfile"}, s.auth.RequireSignIn(s.handle(s.auth.EditProfile))},
		{Route{"private", "GET", "/private"}, s.auth.RequireSignIn(s.handle(s.private))},
		{Route{"graphcall", "GET", "/graphcall"}, s.auth.RequireSignIn(s.handle(s.graphcall))},
		// The timer trigger: the host POSTs its invocation to /{function}.
		{Route{"sweep", "POST", "/sweep"}, s.handle(s.sweep)},
		// Every other path the index function's catch-all forwards.
		{Route{"index", "", "/"}, s.handle(notFound)},
	}
}

// Routes lists the app's routes, for the test that compares them with the
// function.json files.
func Routes() []Route {
	var rs []Route
	for _, r := range (&server{}).routes() {
		rs = append(rs, r.Route)
	}
	return rs
}

func (s *server) register(mux *http.ServeMux) {
	for _, r := range s.routes() {
		pattern := r.Pattern
		if r.Method != "" {
			pattern = r.Method + " " + pattern
		}
		mux.Handle(pattern, r.h)
	}
}
