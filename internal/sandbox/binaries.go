package sandbox

import (
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

// required are the programs the sandbox runs.
var required = []string{"initdb", "pg_ctl", "postgres"}

// debianBinGlob is where Debian and Ubuntu install each major version.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

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
}

// FindBinaries locates server binaries: bindir when given, else `pg_config
// --bindir`, then /usr/lib/postgresql/*/bin, newest major version first.
func FindBinaries(bindir string) (Binaries, error) {
	var dirs []string
	if bindir != "" {
		dirs = []string{bindir}
	} else {
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
		matches, _ := filepath.Glob(debianBinGlob)
		sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
		dirs = append(dirs, matches...)
	}
	for _, d := range dirs {
		if b, ok := probe(d); ok {
			return b, nil
		}
	}
	if bindir != "" {
		return Binaries{}, fmt.Errorf("%w (looked in %s)", ErrNoBinaries, bindir)
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
	}
	return b, true
}

// HasLibrary reports whether the installation ships a loadable module, such
// as pg_qualstats, which must be preloaded to work.
func (b Binaries) HasLibrary(name string) bool {
	_, err := os.Stat(filepath.Join(b.LibDir, name+".so"))
	return err == nil
}
