package handlers

import "net/http"

// logoutPage shows a sign-out button: signing out is a POST from our own
// page, so a cross-site link cannot sign anyone out.
func (s *server) logoutPage(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "logout", s.newPage(r))
	return nil
}
