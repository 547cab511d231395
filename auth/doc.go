// Package auth puts Azure AD B2C or Microsoft Entra External ID sign-in in
// front of a Go web app (Config.ExternalID picks the tenant kind): handlers
// for sign-in, the redirect URI, sign-out and profile editing; middleware
// that loads the visitor's session and that sends a signed-out visitor
// through sign-in and back; and access tokens for APIs from the session's
// token cache. Sessions, token caches and pending sign-ins live encrypted in
// one Azure Table Storage table.
//
//	svc, err := auth.New(auth.Config{...})
//	svc.Mount(mux)
//	mux.Handle("GET /reports", svc.RequireSignIn(reports))
//	http.ListenAndServe(addr, svc.Sessions(mux))
//
// Failures reach the app through Config.ErrorHandler as a *Failure, whose
// Kind the app words on its own pages.
//
// # Compatibility
//
// The module's versions are v0.x.y, under Semantic Versioning's rule for
// major version zero, kept as follows:
//
//   - A minor release (v0.x.0) may change or remove exported API of this
//     package, and the names of the settings FromEnv reads. Each such
//     change is listed in CHANGELOG.md under "Changed" or "Removed".
//   - A patch release (v0.x.y) fixes bugs only: a program that builds
//     against v0.x.0 builds against every v0.x.y, and its settings keep
//     their meaning.
//   - Packages under internal/ are not API. Go refuses to import them from
//     another module, and any release may change them.
//
// Session rows, token caches and sign-in cookies are sealed under a schema
// version that their keys are derived with and that is part of the
// encryption's associated data. A release that changes their format
// incompatibly changes the schema version, in a minor release, listed under
// "Changed": what the previous schema wrote then does not open and counts
// as absent, never as misread. Signed-in visitors are signed out and sign in
// again, a sign-in under way ends with SignInExpired, and Sweep removes the
// old rows once they expire.
package auth
