package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// pendingLifetime is how long a sign-in page stays usable.
const pendingLifetime = 15 * time.Minute

//go:embed pages.html
var pagesFS embed.FS

var pages = template.Must(template.ParseFS(pagesFS, "pages.html"))

// pendingAuth is an authorize request waiting for the user. Its key travels
// in the forms' hidden "tx" field, so the emulator needs no cookies.
type pendingAuth struct {
	policy      Policy
	client      string
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scopes      scopes
	userID      string // ProfileEdit: the signed-in user, shown the profile form
	expires     time.Time
}

// authorize is the authorization endpoint (RFC 6749 §4.1.1, OIDC Core
// §3.1.2.1). Errors about the client or its redirect URI are shown as a page;
// any other goes back to the redirect URI (RFC 6749 §4.1.2.1).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, p Policy) {
	if err := r.ParseForm(); err != nil {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", "The query string is malformed.")
		return
	}
	q := r.Form
	clientID, redirectURI, state := q.Get("client_id"), q.Get("redirect_uri"), q.Get("state")
	if clientID == "" {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", "AADB2C90008: The request does not contain a client ID parameter.")
		return
	}
	c, ok := s.client(clientID)
	if !ok {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", fmt.Sprintf("AADB2C90018: The client ID '%s' specified in the request is not registered in tenant '%s'.", clientID, s.tenantDomain))
		return
	}
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", fmt.Sprintf("AADB2C90006: The redirect URI '%s' provided in the request is not registered for the client ID '%s'.", redirectURI, clientID))
		return
	}
	pa, err := s.checkAuthRequest(q, p)
	if err != nil {
		s.redirectError(w, r, redirectURI, state, err)
		return
	}
	tx := rand.Text()
	s.mu.Lock()
	s.pending[tx] = pa
	s.pruneLocked(s.now())
	s.mu.Unlock()
	first := "login"
	if p.Kind == PasswordReset {
		first = "reset"
	}
	s.render(w, http.StatusOK, s.newPage(p, tx, first))
}

// checkAuthRequest checks the parameters of an authorize request whose client
// and redirect URI are known good.
func (s *Server) checkAuthRequest(q url.Values, p Policy) (*pendingAuth, *oauthError) {
	fail := func(code, format string, args ...any) (*pendingAuth, *oauthError) {
		return nil, s.b2cError(code, format, args...)
	}
	sc, scopeErr := s.parseScopes(q.Get("scope"), q.Get("client_id"))
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch rt, mode := q.Get("response_type"), q.Get("response_mode"); {
	case rt != "code":
		return fail("unsupported_response_type", "AADB2C90013: The requested response type '%s' provided in the request is not supported.", rt)
	case mode != "" && mode != "query":
		return fail("invalid_request", "AADB2C90014: The requested response mode '%s' provided in the request is not supported.", mode)
	case q.Get("scope") == "":
		return fail("invalid_request", "AADB2C90010: The request does not contain a scope parameter.")
	case scopeErr != nil:
		return nil, scopeErr

	// B2C requires none of the checks below from a confidential client; the
	// emulator does, to catch an app that forgets them.
	case !sc.openid:
		return fail("invalid_request", "The scope parameter must include 'openid'.")
	case q.Get("state") == "":
		return fail("invalid_request", "The request does not contain a state parameter.")
	case q.Get("nonce") == "":
		return fail("invalid_request", "The request does not contain a nonce parameter.")
	case challenge == "":
		return fail("invalid_request", "AADB2C99059: The supplied request must present a code_challenge.")
	case method != "S256":
		// RFC 7636 §4.2: S256 is mandatory to implement; the emulator refuses plain.
		return fail("invalid_request", "The supplied code_challenge_method '%s' is not supported. Supported value is S256.", method)
	case !validChallenge(challenge):
		return fail("invalid_request", "The supplied code_challenge is not the base64url encoding of a SHA-256 hash.")
	case q.Get("prompt") == "none":
		// OIDC Core §3.1.2.6: the emulator keeps no session to sign in from.
		return fail("login_required", "AADB2C90077: User does not have an existing session and request prompt parameter has a value of 'none'.")
	}
	return &pendingAuth{
		policy:      p,
		client:      q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		state:       q.Get("state"),
		nonce:       q.Get("nonce"),
		challenge:   challenge,
		scopes:      sc,
		expires:     s.now().Add(pendingLifetime),
	}, nil
}

// validChallenge checks an S256 challenge: 32 bytes, base64url without
// padding (RFC 7636 §4.2).
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32
}

// login handles every form of the sign-in pages. The "action" field says
// which form was sent.
func (s *Server) login(w http.ResponseWriter, r *http.Request, p Policy) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", "The form is malformed.")
		return
	}
	f := r.PostForm
	tx := f.Get("tx")
	s.mu.Lock()
	var pa pendingAuth // a copy: other requests may change the stored one
	stored, ok := s.pending[tx]
	if ok {
		pa = *stored
		ok = s.now().Before(pa.expires) && strings.EqualFold(pa.policy.Name, p.Name)
	}
	s.mu.Unlock()
	if !ok {
		if s.cfg.ExternalID {
			// reference-error-codes.md: "AADSTS50089 | Authentication failed
			// due to flow token expired."
			s.messagePage(w, http.StatusBadRequest, p, externalIDErrorHeading, "AADSTS50089: Authentication failed due to flow token expired.")
			return
		}
		s.messagePage(w, http.StatusBadRequest, p, "Session expired", "AADB2C90046: We are having trouble loading your current state. You might want to try starting your session over from the beginning.")
		return
	}
	switch action := f.Get("action"); {
	case action == "cancel" && s.cfg.ExternalID:
		s.finishError(w, r, tx, pa, externalIDCancelled())
	case action == "cancel":
		s.finishError(w, r, tx, pa, s.b2cError("access_denied", "AADB2C90091: The user has cancelled entering self-asserted information."))
	case action == "forgot" && p.Kind == SignUpSignIn:
		s.finishError(w, r, tx, pa, s.b2cError("access_denied", "AADB2C90118: The user has forgotten their password."))
	case action == "forgot" && p.Kind == SignUpSignInWithReset:
		s.render(w, http.StatusOK, s.newPage(p, tx, "reset"))
	case action == "user" && p.Kind != PasswordReset:
		u, ok := s.user(f.Get("user"))
		if !ok {
			s.renderLoginError(w, p, tx, "Unknown user.")
			return
		}
		s.signedIn(w, r, tx, pa, u, false)
	case action == "password" && p.Kind != PasswordReset:
		u, ok := s.userByEmail(f.Get("email"))
		if !ok || u.Password == "" || subtle.ConstantTimeCompare([]byte(u.Password), []byte(f.Get("password"))) != 1 {
			s.renderLoginError(w, p, tx, "Invalid username or password.")
			return
		}
		s.signedIn(w, r, tx, pa, u, false)
	case action == "signup" && p.offersSignUp():
		u, problem := s.signUp(f.Get("signup-name"), f.Get("signup-email"), f.Get("signup-password"))
		if problem != "" {
			s.renderLoginError(w, p, tx, problem)
			return
		}
		s.signedIn(w, r, tx, pa, u, true)
	case action == "reset" && (p.Kind == PasswordReset || p.Kind == SignUpSignInWithReset):
		u, ok := s.updateUser(f.Get("user"), func(u *User) {
			if pw := f.Get("new-password"); pw != "" {
				u.Password = pw
			}
		})
		if !ok {
			s.messagePage(w, http.StatusBadRequest, p, "Bad request", "Unknown user.")
			return
		}
		s.finish(w, r, tx, pa, u, false)
	case action == "profile" && p.Kind == ProfileEdit && pa.userID != "":
		name := strings.TrimSpace(f.Get("name"))
		if name == "" {
			page := s.newPage(p, tx, "profile")
			page.User, _ = s.user(pa.userID)
			page.Error = "Display name is required."
			s.render(w, http.StatusOK, page)
			return
		}
		u, _ := s.updateUser(pa.userID, func(u *User) {
			u.Name = name
			u.GivenName = strings.TrimSpace(f.Get("given-name"))
			u.FamilyName = strings.TrimSpace(f.Get("family-name"))
		})
		s.finish(w, r, tx, pa, u, false)
	default:
		s.messagePage(w, http.StatusBadRequest, p, "Bad request", "This policy does not offer that action.")
	}
}

// offersSignUp reports whether the policy's sign-in page also offers sign-up
// and "Forgot your password?".
func (p Policy) offersSignUp() bool {
	return p.Kind == SignUpSignIn || p.Kind == SignUpSignInWithReset
}

// signedIn continues after the user proved who they are: profile editing
// shows its form, every other flow is done.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, tx string, pa pendingAuth, u User, newUser bool) {
	if pa.policy.Kind != ProfileEdit {
		s.finish(w, r, tx, pa, u, newUser)
		return
	}
	s.mu.Lock()
	if stored, ok := s.pending[tx]; ok {
		stored.userID = u.ObjectID
	}
	s.mu.Unlock()
	page := s.newPage(pa.policy, tx, "profile")
	page.User = u
	s.render(w, http.StatusOK, page)
}

// finish issues the authorization code and sends the user back to the app
// (RFC 6749 §4.1.2).
func (s *Server) finish(w http.ResponseWriter, r *http.Request, tx string, pa pendingAuth, u User, newUser bool) {
	now := s.now()
	code := rand.Text()
	s.mu.Lock()
	delete(s.pending, tx)
	s.codes[code] = &authCode{
		grant: grant{
			client:   pa.client,
			policy:   pa.policy,
			userID:   u.ObjectID,
			scopes:   pa.scopes,
			nonce:    pa.nonce,
			authTime: now,
			newUser:  newUser,
		},
		redirectURI: pa.redirectURI,
		challenge:   pa.challenge,
		expires:     now.Add(s.codeTTL()),
	}
	s.recordLocked(code)
	s.mu.Unlock()
	http.Redirect(w, r, addQuery(pa.redirectURI, url.Values{"code": {code}, "state": {pa.state}}), http.StatusFound)
}

// finishError ends the flow with an error sent back to the app.
func (s *Server) finishError(w http.ResponseWriter, r *http.Request, tx string, pa pendingAuth, e *oauthError) {
	s.mu.Lock()
	delete(s.pending, tx)
	s.mu.Unlock()
	s.redirectError(w, r, pa.redirectURI, pa.state, e)
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirectURI, state string, e *oauthError) {
	v := url.Values{"error": {e.Code}, "error_description": {e.Description}}
	if e.URI != "" {
		v.Set("error_uri", e.URI)
	}
	if state != "" {
		v.Set("state", state)
	}
	http.Redirect(w, r, addQuery(redirectURI, v), http.StatusFound)
}

func (s *Server) user(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ObjectID == id {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) userByEmail(email string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if email != "" && strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}

func (s *Server) updateUser(id string, update func(*User)) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.users {
		if s.users[i].ObjectID == id {
			update(&s.users[i])
			return s.users[i], true
		}
	}
	return User{}, false
}

// signUp creates a local account, or says what is wrong with the form.
func (s *Server) signUp(name, email, password string) (User, string) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	if name == "" || !strings.Contains(email, "@") {
		return User{}, "Enter a display name and an email address."
	}
	given, family, _ := strings.Cut(name, " ")
	u := User{ObjectID: newUUID(), Email: email, Name: name, GivenName: given, FamilyName: family, Password: password}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.users {
		if strings.EqualFold(v.Email, email) {
			return User{}, "A user with the specified ID already exists. Please choose a different one."
		}
	}
	s.users = append(s.users, u)
	return u, ""
}

// page is what the templates in pages.html show.
type page struct {
	name    string // of the template
	Product string // named in the banner
	Title   string
	Heading string
	Tenant  string
	Policy  string
	Action  string // where the forms post
	TX      string
	Users   []User
	User    User // the profile being edited
	SignUp  bool
	Forgot  bool
	Error   string
	Message string

	ForgotLabel, SignUpLabel string
}

// The words of the pages: B2C's, and External ID's ("Forgot password?",
// how-to-enable-password-reset-customers.md, Test self-service password reset).
const (
	b2cProduct        = "Azure AD B2C"
	externalIDProduct = "Microsoft Entra External ID"
	b2cForgot         = "Forgot your password?"
	externalIDForgot  = "Forgot password?"
	b2cSignUp         = "Don't have an account? Sign up now"
	externalIDSignUp  = "No account? Create one"
)

var headings = map[string]string{"login": "Sign in", "reset": "Reset your password", "profile": "Edit your profile"}

// newPage prepares the page of one step of a flow: "login", "reset" or "profile".
func (s *Server) newPage(p Policy, tx, name string) page {
	signUpSignIn := name == "login" && p.offersSignUp()
	pg := page{
		name:        name,
		Product:     b2cProduct,
		Title:       headings[name] + " - " + p.Name,
		Heading:     headings[name],
		Tenant:      s.tenantDomain,
		Policy:      p.Name,
		Action:      "/" + s.tenantDomain + "/" + strings.ToLower(p.Name) + "/login",
		TX:          tx,
		Users:       s.Users(),
		SignUp:      signUpSignIn,
		Forgot:      signUpSignIn,
		ForgotLabel: b2cForgot,
		SignUpLabel: b2cSignUp,
	}
	if s.cfg.ExternalID {
		// No policy segment: the user flow is the application's.
		pg.Product, pg.ForgotLabel, pg.SignUpLabel = externalIDProduct, externalIDForgot, externalIDSignUp
		pg.Action = "/" + s.tenantDomain + "/login"
	}
	return pg
}

func (s *Server) renderLoginError(w http.ResponseWriter, p Policy, tx, msg string) {
	page := s.newPage(p, tx, "login")
	page.Error = msg
	s.render(w, http.StatusOK, page)
}

func (s *Server) messagePage(w http.ResponseWriter, status int, p Policy, heading, msg string) {
	product := b2cProduct
	if s.cfg.ExternalID {
		product = externalIDProduct
	}
	s.render(w, status, page{name: "message", Product: product, Title: heading + " - " + p.Name, Heading: heading, Tenant: s.tenantDomain, Policy: p.Name, Message: msg})
}

func (s *Server) render(w http.ResponseWriter, status int, data page) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, data.name, data); err != nil {
		s.log.Error("b2c emulator: render page", "page", data.name, "err", err)
		http.Error(w, "emulator: cannot render page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
