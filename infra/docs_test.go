package infra_test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/b2c-functions-go/b2c-functions-go/infra/check"
	"github.com/b2c-functions-go/b2c-functions-go/internal/appsettings"
)

// readmeMaxLines is the README's budget: what the project is, the two
// commands, the screenshot, the settings table and links; the rest lives
// in docs/.
const readmeMaxLines = 300

// otherToolsVariables are environment variables the pages name that belong
// to another tool, not to this project's code or templates.
var otherToolsVariables = map[string]string{
	"AZD_ALPHA_ENABLE_LANGUAGE_CUSTOM": "azd's switch for azure.yaml's language: custom",
}

// docPage is one page of the documentation: README.md or docs/*.md.
type docPage struct {
	rel  string // from the module root, slash-separated
	text string
}

func docPages(t *testing.T, root string) []docPage {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("docs/ has no pages")
	}
	var pages []docPage
	for _, name := range append([]string{filepath.Join(root, "README.md")}, names...) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, name)
		pages = append(pages, docPage{rel: filepath.ToSlash(rel), text: string(b)})
	}
	return pages
}

var fenceRE = regexp.MustCompile("(?ms)^[ \t]*```.*?^[ \t]*```[^\n]*$")

// prose is a page without its fenced code blocks.
func prose(text string) string { return fenceRE.ReplaceAllString(text, "") }

// fences is a page's fenced code blocks.
func fences(text string) string { return strings.Join(fenceRE.FindAllString(text, -1), "\n") }

var codeSpanRE = regexp.MustCompile("`([^`\n]+)`")

// headingAnchors are the anchors GitHub gives a page's headings: lower
// case, punctuation dropped, spaces as dashes, -1, -2 on repeats.
func headingAnchors(text string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^#{1,6} +(.+?) *#*$`).FindAllStringSubmatch(prose(text), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			seen[a] = 1
		}
		anchors[a] = true
	}
	return anchors
}

var linkRE = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// TestDocLinksResolve: every relative link of README.md and docs/*.md
// names a file or folder in the repository, and every #anchor a heading of
// the page it points to.
func TestDocLinksResolve(t *testing.T) {
	root := moduleRoot(t)
	pages := docPages(t, root)
	anchors := map[string]map[string]bool{}
	for _, p := range pages {
		anchors[p.rel] = headingAnchors(p.text)
	}
	links := 0
	for _, p := range pages {
		for _, m := range linkRE.FindAllStringSubmatch(codeSpanRE.ReplaceAllString(prose(p.text), ""), -1) {
			target := m[1]
			if regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`).MatchString(target) {
				continue // https:, mailto:
			}
			links++
			path, anchor, _ := strings.Cut(target, "#")
			rel := p.rel
			if path != "" {
				rel = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(p.rel), path)))
				if rel == ".." || strings.HasPrefix(rel, "../") {
					t.Errorf("%s: link %s leaves the repository", p.rel, target)
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err != nil {
					t.Errorf("%s: link %s: %s is not in the repository", p.rel, target, rel)
					continue
				}
			}
			if anchor != "" {
				a, ok := anchors[rel]
				if !ok {
					t.Errorf("%s: link %s: an anchor into %s, which is not a page of README.md and docs/", p.rel, target, rel)
				} else if !a[anchor] {
					t.Errorf("%s: link %s: %s has no heading with the anchor #%s", p.rel, target, rel, anchor)
				}
			}
		}
	}
	if links < 10 {
		t.Fatalf("found only %d relative links: the pattern no longer matches the pages", links)
	}
}

var scriptRE = regexp.MustCompile(`(?:^|[^\w./-])(scripts/[\w.-]*\w)`)

// TestDocScriptsExist: every scripts/<name> the pages mention, in prose or
// in a command, is an executable file.
func TestDocScriptsExist(t *testing.T) {
	root := moduleRoot(t)
	seen := 0
	for _, p := range docPages(t, root) {
		named := map[string]bool{}
		for _, m := range scriptRE.FindAllStringSubmatch(p.text, -1) {
			seen++
			if named[m[1]] {
				continue
			}
			named[m[1]] = true
			info, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1])))
			switch {
			case err != nil:
				t.Errorf("%s names %s, which does not exist", p.rel, m[1])
			case !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0:
				t.Errorf("%s names %s, which is not an executable file (%v)", p.rel, m[1], info.Mode())
			}
		}
	}
	if seen == 0 {
		t.Fatal("the pages mention no script: the pattern no longer matches them")
	}
}

var (
	settingNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$`)
	assignmentRE  = regexp.MustCompile(`(?:^|[\s;(])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)=`)
	unsetRE       = regexp.MustCompile(`(?m)\bunset((?: +[A-Z][A-Z0-9_]*)+)`)
	azdEnvSetRE   = regexp.MustCompile(`\bazd env set ([A-Z][A-Z0-9_]*)`)
)

// mentionedSettings are the names a page gives as settings: a code span
// that is a name (UPPER_SNAKE with an underscore), NAME=value or %NAME%,
// and in commands the variables exported, unset or set with azd.
func mentionedSettings(text string) []string {
	var names []string
	add := func(name string) {
		if settingNameRE.MatchString(name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, m := range codeSpanRE.FindAllStringSubmatch(prose(text), -1) {
		span := strings.TrimSpace(m[1])
		name, _, _ := strings.Cut(span, "=")
		add(strings.Trim(name, "%"))
		for _, a := range assignmentRE.FindAllStringSubmatch(span, -1) {
			add(a[1])
		}
	}
	code := fences(text)
	for _, a := range assignmentRE.FindAllStringSubmatch(code, -1) {
		add(a[1])
	}
	for _, u := range unsetRE.FindAllStringSubmatch(code, -1) {
		for _, name := range strings.Fields(u[1]) {
			add(name)
		}
	}
	for _, a := range azdEnvSetRE.FindAllStringSubmatch(code, -1) {
		add(a[1])
	}
	return names
}

// knownSettings are the names the project's code and templates know, each
// with where it comes from: the handler's settings (appsettings.All), the
// host's (hostSettings), every app setting the templates set, every
// variable a parameter file reads, the app settings the policy refuses on
// Flex Consumption, and the environment variables the scripts, the
// workflows and the Go code read.
func knownSettings(t *testing.T, root string) map[string]string {
	t.Helper()
	known := map[string]string{}
	add := func(name, from string) {
		if _, ok := known[name]; !ok {
			known[name] = from
		}
	}
	for _, s := range appsettings.All {
		add(s.Name, "appsettings.All")
	}
	for _, s := range hostSettings {
		add(s.Name, "hostSettings")
	}
	settings, errs := infra(t).AppSettings()
	for _, err := range errs {
		t.Error(err)
	}
	for _, s := range settings {
		add(s.Name, "the templates' app settings")
	}
	for _, name := range check.FlexRejectedSettings() {
		add(name, "check.FlexRejectedSettings")
	}
	read := func(pattern string, re *regexp.Regexp, from string) {
		files, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no file matches %s", pattern)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				add(m[1], from)
			}
		}
	}
	read("infra/*.bicepparam", envReadRE, "a parameter file")
	read("scripts/*", regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`), "a script")
	read(".github/workflows/*.yml", regexp.MustCompile(`\bvars\.([A-Z][A-Z0-9_]*)|(?m)^\s+([A-Z][A-Z0-9_]*):`), "a workflow")
	getenvRE := regexp.MustCompile(`\b(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range getenvRE.FindAllStringSubmatch(string(b), -1) {
			add(m[1], "Go code")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The workflow pattern has two groups; the unmatched one adds "".
	delete(known, "")
	for name, why := range otherToolsVariables {
		add(name, why)
	}
	return known
}

// TestDocSettingsAreKnown: every setting name the pages mention (a code
// span such as `B2C_CLIENT_ID`, or a variable a command exports) is one
// the code or the templates know, so a misspelt or retired name fails.
func TestDocSettingsAreKnown(t *testing.T) {
	root := moduleRoot(t)
	known := knownSettings(t, root)
	seen := 0
	for _, p := range docPages(t, root) {
		for _, name := range mentionedSettings(p.text) {
			seen++
			if _, ok := known[name]; !ok {
				t.Errorf("%s names %s, which no setting list, template, script, workflow or Go code knows", p.rel, name)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d setting names in the pages: the patterns no longer match them", seen)
	}
}

// TestReadme: the README stays within readmeMaxLines, and its
// Configuration table lists exactly the handler's settings
// (appsettings.All).
func TestReadme(t *testing.T) {
	b := readRepoFile(t, "README.md")
	readme := string(b)
	if n := len(strings.SplitAfter(strings.TrimSuffix(readme, "\n"), "\n")); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, more than %d: move the detail into docs/", n, readmeMaxLines)
	}

	start := strings.Index(readme, "\n## Configuration\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Configuration"`)
	}
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var listed []string
	for _, row := range regexp.MustCompile("(?m)^\\| ((?:`[A-Z0-9_]+`(?:, )?)+) \\|").FindAllStringSubmatch(section, -1) {
		for _, m := range codeSpanRE.FindAllStringSubmatch(row[1], -1) {
			listed = append(listed, m[1])
		}
	}
	var want []string
	for _, s := range appsettings.All {
		want = append(want, s.Name)
		if !slices.Contains(listed, s.Name) {
			t.Errorf("README's Configuration table does not list %s, which the handler reads", s.Name)
		}
	}
	for _, name := range listed {
		if !slices.Contains(want, name) {
			t.Errorf("README's Configuration table lists %s, which is not in appsettings.All", name)
		}
	}
}

// readmeMention is a pointer from code, a script or a template to a README
// section: README "Configuration", (README, Configuration). Another
// project's README ("Azurite's README") is not ours.
var readmeMention = regexp.MustCompile(`(\w+'s )?\bREADME(?:,? \\?"([^"\\]+)\\?"|, ([A-Z][^)\n]+)\))`)

// TestReadmeMentionsResolve: every README section that a file outside the
// docs points its reader at is still a README heading; sections that moved
// to docs/ are pointed at there.
func TestReadmeMentionsResolve(t *testing.T) {
	root := moduleRoot(t)
	headings := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`).FindAllStringSubmatch(string(readRepoFile(t, "README.md")), -1) {
		headings[m[1]] = true
	}
	out, err := exec.Command("git", "-C", root, "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	checked := 0
	for _, name := range strings.Fields(string(out)) {
		if strings.HasSuffix(name, ".md") || strings.Contains(name, "testdata/") || strings.HasSuffix(name, ".png") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the working tree
		}
		for _, m := range readmeMention.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "" {
				continue
			}
			checked++
			if section := m[2] + m[3]; !headings[section] {
				t.Errorf("%s points at README %q, which has no such heading", name, section)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no README mention found: the pattern no longer matches how files point at it")
	}
}
