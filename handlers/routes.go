package handlers

import (
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
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
	// sessionless routes never read the session: a health check and the
	// host's timer must answer even when Table Storage does not.
	sessionless bool
}

// routes lists every route of the app, in one place.
func (s *server) routes() []route {
	return []route{
		{Route: Route{"index", "GET", "/{$}"}, h: s.handle(s.index)},
		{Route: Route{"anonymous", "GET", "/anonymous"}, h: s.handle(s.anonymous)},
		{Route: Route{"healthz", "GET", "/healthz"}, h: http.HandlerFunc(healthz), sessionless: true},
		{Route: Route{"readyz", "GET", "/readyz"}, h: http.HandlerFunc(s.readyz), sessionless: true},
		// Sign-in's own handlers, on auth's default paths.
		{Route: Route{"login", "GET", "/login"}, h: s.auth.SignInHandler()},
		{Route: Route{"getAToken", "GET", auth.RedirectPath}, h: s.auth.CallbackHandler()},
		{Route: Route{"logout", "GET", "/logout"}, h: s.handle(s.logoutPage)},
		{Route: Route{"logout", "POST", "/logout"}, h: s.auth.SignOutHandler()},
		{Route: Route{"editProfile", "GET", "/editProfile"}, h: s.auth.EditProfileHandler()},
		{Route: Route{"private", "GET", "/private"}, h: s.auth.RequireSignIn(s.handle(s.private))},
		{Route: Route{"graphcall", "GET", "/graphcall"}, h: s.auth.RequireSignIn(s.handle(s.graphcall))},
		// The timer trigger: the host POSTs its invocation to /{function}.
		{Route: Route{"sweep", "POST", "/sweep"}, h: s.handle(s.sweep), sessionless: true},
		// Every other path the index function's catch-all forwards.
		{Route: Route{"index", "", "/"}, h: s.handle(notFound)},
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

// handler registers the routes: the sessionless ones in front of the
// middleware that loads sessions, the others behind it.
func (s *server) handler() http.Handler {
	withSession, outer := http.NewServeMux(), http.NewServeMux()
	for _, r := range s.routes() {
		pattern := r.Pattern
		if r.Method != "" {
			pattern = r.Method + " " + pattern
		}
		if r.sessionless {
			outer.Handle(pattern, r.h)
		} else {
			withSession.Handle(pattern, r.h)
		}
	}
	outer.Handle("/", s.auth.Sessions(withSession))
	return outer
}
