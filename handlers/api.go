package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/b2c-functions-go/b2c-functions-go/auth"
)

type apiResult struct {
	Endpoint string
	Status   int
	Body     string
}

// graphcall calls the configured API with an access token from the session's
// token cache, as the article's /graphcall does.
func (s *server) graphcall(w http.ResponseWriter, r *http.Request) error {
	if s.endpoint == "" {
		return &pageError{Status: http.StatusNotFound, Title: "No API configured", Detail: "This site calls no API."}
	}
	token, err := s.auth.AccessToken(r.Context(), s.scopes)
	if errors.Is(err, auth.ErrSignInRequired) {
		s.auth.SignIn(w, r, r.URL.RequestURI())
		return nil
	}
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, s.endpoint, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.api.Do(req)
	if err != nil {
		return apiFailed(fmt.Errorf("calling API: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return apiFailed(fmt.Errorf("reading API response: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return apiFailed(fmt.Errorf("API answered %d", resp.StatusCode))
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return apiFailed(fmt.Errorf("API answered non-JSON: %w", err))
	}
	p := s.newPage(r)
	p.API = &apiResult{Endpoint: s.endpoint, Status: resp.StatusCode, Body: pretty.String()}
	s.render(w, r, http.StatusOK, "graphcall", p)
	return nil
}

func apiFailed(err error) error {
	return &pageError{Status: http.StatusBadGateway, Title: "API call failed",
		Detail: "The API did not answer as expected. You are still signed in; please try again.", err: err}
}
