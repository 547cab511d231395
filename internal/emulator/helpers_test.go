package emulator

import (
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Helpers that several test files share. Those that take an *http.Client
// and an origin serve both the package-level helpers, which use the default
// client and listeners, and the flow type, which can use any.

// startWith applies edit to cfg, starts the emulator logging to the test's
// output, and closes it when the test ends.
func startWith(t *testing.T, cfg Config, edit ...func(*Config)) *Server {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	for _, e := range edit {
		e(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// wantStartError checks that Start refuses cfg with an error naming the
// package.
func wantStartError(t *testing.T, cfg Config) {
	t.Helper()
	s, err := Start(cfg)
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded")
	}
	if !strings.HasPrefix(err.Error(), "emulator: ") {
		t.Errorf("error %q lacks the emulator prefix", err)
	}
}

// getPage fetches u with c and returns the response with its body.
func getPage(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return withBody(t, resp)
}

// withBody reads and closes resp's body and returns resp with it.
func withBody(t *testing.T, resp *http.Response) (*http.Response, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var (
	formRE  = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRE = regexp.MustCompile(`<input [^>]*>`)
	attrRE  = regexp.MustCompile(`([\w-]+)="([^"]*)"`)
)

func attrs(tag string) map[string]string {
	m := make(map[string]string)
	for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// submit posts, with c to origin, the form of page holding the button with
// the given id, as a browser does: the form's inputs that have a value, then
// fields, then the button's own name and value. It returns the response and
// its body.
func submit(t *testing.T, c *http.Client, origin, page, buttonID string, fields url.Values) (*http.Response, string) {
	t.Helper()
	buttonRE := regexp.MustCompile(`<button [^>]*id="` + regexp.QuoteMeta(buttonID) + `"[^>]*>`)
	for _, f := range formRE.FindAllStringSubmatch(page, -1) {
		button := buttonRE.FindString(f[2])
		if button == "" {
			continue
		}
		form := url.Values{}
		for _, in := range inputRE.FindAllString(f[2], -1) {
			if a := attrs(in); a["value"] != "" {
				form.Set(a["name"], a["value"])
			}
		}
		for k, v := range fields {
			form[k] = v
		}
		if a := attrs(button); a["name"] != "" {
			form.Set(a["name"], a["value"])
		}
		resp, err := c.PostForm(origin+html.UnescapeString(f[1]), form)
		if err != nil {
			t.Fatal(err)
		}
		return withBody(t, resp)
	}
	t.Fatalf("no button %q in page:\n%s", buttonID, page)
	return nil, ""
}

// redirectedTo checks resp sends the browser to redirect and returns the
// query it carries.
func redirectedTo(t *testing.T, resp *http.Response, redirect string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect {
		t.Fatalf("redirected to %q, want %q", got, redirect)
	}
	return loc.Query()
}

// postJSON posts form to u with c and decodes the JSON answer.
func postJSON(t *testing.T, c *http.Client, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// checkShapeFiles checks each answer against the shape of its name in
// testdata/dir, and that every shape there has an answer and every answer a
// shape, so neither side can go stale unnoticed.
func checkShapeFiles(t *testing.T, dir string, answers map[string]func(t *testing.T) map[string]any) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		if name == "errors.json" {
			continue // not a shape: the documented errors have a test of their own
		}
		answer, ok := answers[name]
		if !ok {
			t.Errorf("%s has no request in %s", file, t.Name())
			continue
		}
		t.Run(name, func(t *testing.T) {
			sh := loadShape(t, filepath.Join(dir, name))
			checkShape(t, sh, answer(t))
		})
		delete(answers, name)
	}
	for name := range answers {
		t.Errorf("%s asks for %s, which is missing", t.Name(), filepath.Join("testdata", dir, name))
	}
}

// documentedMessage puts args in place of the {0}, {1}, ... of a message of
// an errors.json; a {0} left over means the test gave no values.
func documentedMessage(t *testing.T, message string, args []string) string {
	t.Helper()
	msg := message
	for i, a := range args {
		msg = strings.ReplaceAll(msg, "{"+strconv.Itoa(i)+"}", a)
	}
	if strings.Contains(msg, "{0}") {
		t.Fatalf("the test gives no value for the {0} of %q", message)
	}
	return msg
}
