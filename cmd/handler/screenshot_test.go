package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/b2c-functions-go/b2c-functions-go/internal/testenv"
)

// signedInPNG is where TestSignedInScreenshot writes its picture, relative
// to the module root; without it the test is skipped, so ordinary test runs
// never write into the working tree.
var signedInPNG = flag.String("signed-in-png", "", "write a screenshot of the signed-in home page to this file (relative to the module root), e.g. docs/signed-in.png")

// TestSignedInScreenshot signs Alice in through the emulator in a headless
// Chromium and saves the signed-in home page as a PNG: the picture in the
// README.
//
//	go test ./cmd/handler -run TestSignedInScreenshot -signed-in-png docs/signed-in.png
func TestSignedInScreenshot(t *testing.T) {
	if *signedInPNG == "" {
		t.Skip("writes a file only when asked: -signed-in-png docs/signed-in.png")
	}
	out := *signedInPNG
	if !filepath.IsAbs(out) {
		out = filepath.Join(testenv.Root(t), out)
	}
	app := startApp(t, appOptions{})
	ctx := testenv.Browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1024, 640)); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, app.URL+"/")
	click(t, ctx, "sign-in-button")
	click(t, ctx, "user-"+alice.ObjectID) // the emulator's sign-in page
	if got := text(t, ctx, "welcome"); got != "Welcome, Alice Example" {
		t.Fatalf("after sign-in: %q", got)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}
