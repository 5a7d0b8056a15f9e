package analyze

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// bareServer starts a throwaway cluster without shared_preload_libraries,
// the way a stock PostgreSQL comes, and returns its DSN. It takes about a
// second (initdb); it is skipped where no server binaries are found.
func bareServer(t *testing.T) string {
	t.Helper()
	bins, err := sandbox.FindBinaries(os.Getenv("HISHAMOS_PERF_PG_BINDIR"))
	if err != nil {
		t.Skipf("no server binaries: %v", err)
	}
	dir, err := os.MkdirTemp("", "hp-bare-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root needs the postgres account")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	run := func(prog string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bins.BinDir, prog), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", prog, err, out)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	run("pg_ctl", "start", "-D", data, "-w", "-l", filepath.Join(dir, "log"),
		"-o", fmt.Sprintf("-c listen_addresses='' -k %s -p %d -c fsync=off", dir, port))
	t.Cleanup(func() { run("pg_ctl", "stop", "-D", data, "-m", "immediate", "-w") })
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", dir, port)
}

// TestNotPreloaded checks the error on a server whose configuration does
// not preload pg_stat_statements: the real SQLSTATE and message the server
// gives, turned into the line to add to postgresql.conf.
func TestNotPreloaded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	if os.Getenv(testdb.EnvDSN) != "" {
		t.Skip("needs local server binaries")
	}
	dsn := bareServer(t)
	admin := testdb.Conn(t, dsn)
	mustExec(t, admin, "CREATE EXTENSION pg_stat_statements")
	_, err := Analyze(context.Background(), safeConn(t, dsn, 30*time.Second), Options{})
	if !errors.Is(err, ErrNotPreloaded) {
		t.Fatalf("err = %v, want ErrNotPreloaded", err)
	}
	want := "add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and restart the server"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "SQLSTATE 55000") {
		t.Errorf("err = %v\nwant it to say: %s", err, want)
	}

	// Neither created nor preloaded: both fixes are named.
	mustExec(t, admin, "DROP EXTENSION pg_stat_statements")
	_, err = Analyze(context.Background(), safeConn(t, dsn, 30*time.Second), Options{})
	if !errors.Is(err, ErrNoPgStatStatements) || !strings.Contains(err.Error(), "CREATE EXTENSION pg_stat_statements;") ||
		!strings.Contains(err.Error(), "shared_preload_libraries = 'pg_stat_statements'") {
		t.Errorf("err = %v", err)
	}
}
