// Command appzip packs an app folder that scripts/build assembled into the
// zip that Flex Consumption runs: every file at its path in the folder, the
// handler binary (the executable host.json names) at mode 0755 and the rest
// at 0644, whatever the file system it was built on. A zip made on Windows
// by other tools carries no Unix mode, and the host then cannot start the
// handler ("permission denied"); Go's archive/zip records the mode in the
// entry's external attributes, which is what the unzip on the instance
// reads. Entries are sorted and dated 1980-01-01, so one folder always
// gives the same bytes.
//
//	appzip DIR OUT.zip
package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) != 3 {
		return errors.New("usage: appzip DIR OUT.zip")
	}
	dir, out := args[1], args[2]
	exe, err := executable(dir)
	if err != nil {
		return err
	}
	if err := pack(dir, exe, out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "appzip: %s (%s at 0755)\n", out, exe)
	return nil
}

// executable is the path, relative to dir, of the binary dir/host.json
// names in customHandler.description.defaultExecutablePath.
func executable(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if err != nil {
		return "", fmt.Errorf("appzip: %s is not an app folder: %w", dir, err)
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if err := json.Unmarshal(b, &host); err != nil {
		return "", fmt.Errorf("appzip: %s/host.json: %w", dir, err)
	}
	exe := host.CustomHandler.Description.DefaultExecutablePath
	if exe == "" {
		return "", fmt.Errorf("appzip: %s/host.json names no customHandler.description.defaultExecutablePath", dir)
	}
	if fi, err := os.Stat(filepath.Join(dir, exe)); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("appzip: host.json names %q, which is not a file in %s", exe, dir)
	}
	return filepath.ToSlash(filepath.Clean(exe)), nil
}

// zipEpoch is the earliest time a zip entry can carry.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// pack writes every regular file below dir into the zip out, exe at 0755.
// out is written beside itself and renamed, so a failed run leaves no
// half-written zip to deploy.
func pack(dir, exe, out string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(out), ".appzip-*")
	if err != nil {
		return fmt.Errorf("appzip: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	zw := zip.NewWriter(f)
	// WalkDir visits in lexical order: sorted entries.
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(0o644)
		if name == exe {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(w, src)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), out)
	}
	if err != nil {
		return fmt.Errorf("appzip: %s: %w", out, err)
	}
	return nil
}
