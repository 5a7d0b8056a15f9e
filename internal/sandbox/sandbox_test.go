package sandbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// newBox returns a sandbox in a fresh folder, destroyed when the test ends.
func newBox(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	dir, err := os.MkdirTemp("", "hishamos-perf-sbx-")
	if err != nil {
		t.Fatal(err)
	}
	box, err := testdb.NewSandbox(filepath.Join(dir, "box"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := box.Destroy(context.Background()); err != nil {
			t.Errorf("destroy: %v", err)
		}
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// The postgres account must be able to enter the parent folder.
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return box
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	box := newBox(t)

	st, err := box.Status(ctx)
	if err != nil || st.Created {
		t.Fatalf("status before up = %+v, %v; want not created", st, err)
	}
	up, err := box.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !up.Running || !up.Started || !up.Initialized || up.Port == 0 {
		t.Fatalf("first up = %+v; want running, started, initialized, a port", up)
	}
	if !hasExtension(up.Extensions, "pg_stat_statements") {
		t.Errorf("extensions = %v; want pg_stat_statements", up.Extensions)
	}

	again, err := box.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Started || again.Initialized || again.PID != up.PID {
		t.Errorf("second up = %+v; want the running server (pid %d) reported, not a second one", again, up.PID)
	}

	state, err := box.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, box.DSN(state, sandbox.Database))
	if err != nil {
		t.Fatal(err)
	}
	var preload string
	if err := conn.QueryRow(ctx, "SHOW shared_preload_libraries").Scan(&preload); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if !strings.Contains(preload, "pg_stat_statements") {
		t.Errorf("shared_preload_libraries = %q; want pg_stat_statements", preload)
	}
	// Over TCP the server asks for the password the sandbox keeps.
	tcp, err := pgx.Connect(ctx, box.TCPDSN(state, sandbox.Database))
	if err != nil {
		t.Fatalf("loopback TCP: %v", err)
	}
	tcp.Close(ctx)

	stopped, err := box.Down(ctx)
	if err != nil || !stopped {
		t.Fatalf("down = %v, %v; want stopped", stopped, err)
	}
	st, err = box.Status(ctx)
	if err != nil || st.Running || !st.Created {
		t.Fatalf("status after down = %+v, %v; want created, not running", st, err)
	}
	warm, err := box.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !warm.Started || warm.Initialized {
		t.Errorf("warm up = %+v; want started without initdb", warm)
	}
	if err := box.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(box.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder %s still there after destroy", box.Dir)
	}
}

func hasExtension(exts []string, name string) bool {
	for _, e := range exts {
		if strings.HasPrefix(e, name+" ") {
			return true
		}
	}
	return false
}

func TestMissingBinaries(t *testing.T) {
	box := newBox(t)
	box.BinDir = t.TempDir()
	_, err := box.Up(context.Background())
	if !errors.Is(err, sandbox.ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
	if !strings.Contains(err.Error(), "make setup") {
		t.Errorf("error does not say to run make setup: %v", err)
	}
	if _, err := box.LoadState(); !errors.Is(err, sandbox.ErrNotCreated) {
		t.Errorf("a failed up left a state file behind: %v", err)
	}
}

func TestFolderNotUsable(t *testing.T) {
	for _, dir := range []string{"/dev/null/sandbox", "/proc/hishamos-perf-sandbox"} {
		box := &sandbox.Sandbox{Dir: dir}
		_, err := box.Up(context.Background())
		if !errors.Is(err, sandbox.ErrDir) {
			t.Errorf("Up(%s) err = %v, want ErrDir", dir, err)
		}
	}
}

func TestFolderUnreachableByServerAccount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to another account")
	}
	parent := t.TempDir() // 0700, owned by root
	if err := os.Chmod(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	box := &sandbox.Sandbox{Dir: filepath.Join(parent, "box")}
	_, err := box.Up(context.Background())
	if !errors.Is(err, sandbox.ErrDir) || !strings.Contains(err.Error(), "cannot enter") {
		t.Fatalf("err = %v, want ErrDir saying the account cannot enter the parent", err)
	}
}

func TestSocketPathTooLong(t *testing.T) {
	box := newBox(t)
	box.Dir = filepath.Join(box.Dir, strings.Repeat("d", 90))
	_, err := box.Up(context.Background())
	if !errors.Is(err, sandbox.ErrDir) || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("err = %v, want ErrDir for a path too long", err)
	}
}

// BenchmarkColdStart measures initdb plus the first start (target: under 5 s).
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp("", "hishamos-perf-bench-")
		if err != nil {
			b.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		box := &sandbox.Sandbox{Dir: filepath.Join(dir, "box")}
		b.StartTimer()
		if _, err := box.Up(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		box.Destroy(ctx)
		os.RemoveAll(dir)
		b.StartTimer()
	}
}

// BenchmarkWarmStart measures starting a stopped sandbox (target: under 1 s).
func BenchmarkWarmStart(b *testing.B) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "hishamos-perf-bench-")
	if err != nil {
		b.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	box := &sandbox.Sandbox{Dir: filepath.Join(dir, "box")}
	defer os.RemoveAll(dir)
	defer box.Destroy(ctx)
	if _, err := box.Up(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		if _, err := box.Down(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := box.Up(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseMajor(t *testing.T) {
	for _, ok := range []string{"14", "15", "16", "17", "18", " 17 "} {
		if _, err := sandbox.ParseMajor(ok); err != nil {
			t.Errorf("ParseMajor(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"13", "19", "17.2", "x", ""} {
		_, err := sandbox.ParseMajor(bad)
		if !errors.Is(err, sandbox.ErrVersion) || !strings.Contains(err.Error(), "from 14 to 18") {
			t.Errorf("ParseMajor(%q) = %v; want ErrVersion naming 14 to 18", bad, err)
		}
	}
}

// TestStatusSaysWhereBinariesCameFrom: a sandbox knows its server's major
// version and where its binaries came from (Debian's packages, an npm
// build in the cache with its package and version); asked for another
// version it refuses, changing nothing.
func TestStatusSaysWhereBinariesCameFrom(t *testing.T) {
	ctx := context.Background()
	box := newBox(t)
	up, err := box.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := up.Binaries
	if b == nil || b.Major == 0 || !strings.HasPrefix(up.Version, strconv.Itoa(b.Major)+".") {
		t.Fatalf("status binaries %+v, version %q; want the server's major version", b, up.Version)
	}
	if box.Major != 0 && b.Major != box.Major {
		t.Errorf("asked for PostgreSQL %d, got %d", box.Major, b.Major)
	}
	switch {
	case strings.HasPrefix(b.BinDir, "/usr/lib/postgresql/"):
		if b.Source != sandbox.SourceDebian || b.Origin() != "debian" {
			t.Errorf("binaries in %s: source %q, origin %q; want debian", b.BinDir, b.Source, b.Origin())
		}
	case b.Source == sandbox.SourceNpm:
		spec, err := sandbox.NpmPackage(b.Major)
		if err != nil {
			t.Fatal(err)
		}
		if b.Package != spec || b.Origin() != "npm "+spec || !strings.HasSuffix(b.BinDir, "/native/bin") {
			t.Errorf("npm binaries %+v (origin %q); want package %s in its native/bin", b, b.Origin(), spec)
		}
	default:
		if b.Source == "" {
			t.Errorf("binaries %+v say nowhere they came from", b)
		}
	}

	other := b.Major + 1
	if other > sandbox.MaxMajor {
		other = sandbox.MinMajor
	}
	again := &sandbox.Sandbox{Dir: box.Dir, Major: other}
	_, err = again.Up(ctx)
	if !errors.Is(err, sandbox.ErrVersion) || !strings.Contains(err.Error(), "holds PostgreSQL "+up.Version) {
		t.Errorf("up asking for %d on a %s sandbox: %v; want ErrVersion naming what it holds", other, up.Version, err)
	}
	if st, err := box.Status(ctx); err != nil || !st.Running || st.PID != up.PID {
		t.Errorf("after the refused up: %+v, %v; want the same server running", st, err)
	}
}

// TestBinariesGoneAreFoundAgain: a stopped sandbox whose binaries went
// away (an emptied cache, a removed package) starts with the same major
// version found or installed again.
func TestBinariesGoneAreFoundAgain(t *testing.T) {
	ctx := context.Background()
	box := newBox(t)
	up, err := box.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := box.Down(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := box.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	st.Binaries.BinDir = filepath.Join(t.TempDir(), "gone", "bin")
	if err := box.SaveState(st); err != nil {
		t.Fatal(err)
	}
	again, err := box.Up(ctx)
	if err != nil {
		t.Fatalf("up after the binaries went: %v", err)
	}
	if !again.Started || again.Version != up.Version || again.Binaries.BinDir != up.Binaries.BinDir {
		t.Errorf("up after the binaries went: %+v; want PostgreSQL %s started from %s", again, up.Version, up.Binaries.BinDir)
	}
}
