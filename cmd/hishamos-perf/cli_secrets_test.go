package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// connEnv lists every variable the CLI or pgx reads a connection from.
var connEnv = []string{"HISHAMOS_PERF_DSN", "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD", "PGPASSFILE", "PGSSLMODE", "PGSERVICE", "PGSERVICEFILE"}

// cliEnv runs the CLI in process with exactly env as its connection
// environment.
func cliEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	for _, v := range connEnv {
		t.Setenv(v, env[v])
	}
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// secretDB is a database with a small table, reachable over loopback TCP
// with the sandbox superuser's password.
type secretDB struct {
	dbname, password string
	port             int
}

func newSecretDB(t *testing.T) secretDB {
	t.Helper()
	if testdb.Box == nil {
		t.Skip("needs the sandbox's loopback password; HISHAMOS_PERF_TEST_DSN is set")
	}
	st, err := testdb.Box.LoadState()
	if err != nil {
		t.Fatal(err)
	}
	if st.Password == "" {
		t.Fatal("the sandbox has no loopback password")
	}
	dsn := testdb.NewDatabase(t)
	conn := testdb.Conn(t, dsn)
	if _, err := conn.Exec(context.Background(), `CREATE TABLE accounts (id int PRIMARY KEY, owner int NOT NULL, state text NOT NULL);
INSERT INTO accounts SELECT i, i % 300, (ARRAY['open', 'closed'])[1 + i % 2] FROM generate_series(1, 20000) i;
ANALYZE accounts;
SELECT count(*) FROM accounts WHERE owner = 7;`); err != nil {
		t.Fatal(err)
	}
	return secretDB{dbname: dsn[strings.LastIndex(dsn, "dbname=")+len("dbname="):], password: st.Password, port: st.Port}
}

func (d secretDB) url(password string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5", sandbox.Superuser, password, d.port, d.dbname)
}

func (d secretDB) keywords(password string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=%s sslmode=disable connect_timeout=5", d.port, sandbox.Superuser, password, d.dbname)
}

// pgEnv is libpq's variables for the database, with PGPASSWORD when
// password is set.
func (d secretDB) pgEnv(password string) map[string]string {
	env := map[string]string{"PGHOST": "127.0.0.1", "PGPORT": strconv.Itoa(d.port), "PGUSER": sandbox.Superuser, "PGDATABASE": d.dbname, "PGSSLMODE": "disable"}
	if password != "" {
		env["PGPASSWORD"] = password
	}
	return env
}

// pgpassEnv is libpq's variables with the password in a .pgpass file.
func (d secretDB) pgpassEnv(t *testing.T, password string) map[string]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pgpass")
	line := fmt.Sprintf("127.0.0.1:%d:%s:%s:%s\n", d.port, d.dbname, sandbox.Superuser, password)
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	env := d.pgEnv("")
	env["PGPASSFILE"] = path
	return env
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// assertNoSecret fails when any of the texts holds one of the secrets.
func assertNoSecret(t *testing.T, what string, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the password %q:\n%s", what, s, text)
		}
	}
}

// TestPasswordsNeverPrinted: with a password in the DSN (URL and keyword
// form), in PGPASSWORD and in a .pgpass file, neither a refused login, an
// unreachable host, a DSN that does not parse nor a successful run prints
// it or saves it.
func TestPasswordsNeverPrinted(t *testing.T) {
	d := newSecretDB(t)
	const wrong = "Wr0ng-pa55-zq9Xk"
	secrets := []string{wrong, d.password}
	unreachable := d
	unreachable.port = closedPort(t)

	failures := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"wrong password in a URL DSN", nil, []string{"--dsn", d.url(wrong), "analyze"}, exitDatabase, "password authentication failed"},
		{"wrong password in a keyword DSN", nil, []string{"--dsn", d.keywords(wrong), "--format", "json", "analyze"}, exitDatabase, "password authentication failed"},
		{"wrong password in HISHAMOS_PERF_DSN", map[string]string{"HISHAMOS_PERF_DSN": d.url(wrong)}, []string{"indexes", "propose", "--workload", "-"}, exitDatabase, "password authentication failed"},
		{"wrong password in DATABASE_URL", map[string]string{"DATABASE_URL": d.keywords(wrong)}, []string{"bench", "--iterations", "1"}, exitDatabase, "password authentication failed"},
		{"wrong password in PGPASSWORD", d.pgEnv(wrong), []string{"analyze"}, exitDatabase, "password authentication failed"},
		{"wrong password in .pgpass", d.pgpassEnv(t, wrong), []string{"--format", "json", "analyze"}, exitDatabase, "password authentication failed"},
		{"unreachable host, URL DSN", nil, []string{"--dsn", unreachable.url(wrong), "analyze"}, exitDatabase, "cannot connect"},
		{"unreachable host, keyword DSN", nil, []string{"--dsn", unreachable.keywords(wrong), "bench", "--iterations", "1"}, exitDatabase, "cannot connect"},
		{"unreachable host, PGPASSWORD", unreachable.pgEnv(wrong), []string{"indexes", "propose", "--workload", "-"}, exitDatabase, "cannot connect"},
		{"unreachable host, .pgpass", unreachable.pgpassEnv(t, wrong), []string{"analyze"}, exitDatabase, "cannot connect"},
		{"keyword DSN that does not parse", nil, []string{"--dsn", "host=127.0.0.1 port=notaport password=" + wrong, "analyze"}, exitUsage, "invalid connection string"},
		{"URL DSN that does not parse", nil, []string{"--dsn", "postgres://u:" + wrong + "@127.0.0.1:notaport/db", "analyze"}, exitUsage, "invalid connection string"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			r := cliEnv(t, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d saying %q", r.code, r.stderr, tt.code, tt.want)
			}
			assertNoSecret(t, "stdout", r.stdout, secrets...)
			assertNoSecret(t, "stderr", r.stderr, secrets...)
		})
	}

	dir := t.TempDir()
	workload := filepath.Join(dir, "w.sql")
	if err := os.WriteFile(workload, []byte("SELECT id, state FROM accounts WHERE owner = 7 AND state = 'open';\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hypopg := false
	conn := testdb.Conn(t, testdb.WithDatabase(t, testdb.DSN(), d.dbname))
	_ = conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg')").Scan(&hypopg)

	type success struct {
		name  string
		env   map[string]string
		args  []string
		saved string
	}
	successes := []success{
		{"analyze, password in a URL DSN", nil, []string{"--dsn", d.url(d.password), "--format", "json", "analyze", "--top", "5", "--explain", "2"}, ""},
		{"analyze, password in PGPASSWORD", d.pgEnv(d.password), []string{"analyze", "--top", "5", "--analyze", "--workload", workload}, ""},
		{"analyze, password in .pgpass", d.pgpassEnv(t, d.password), []string{"--format", "markdown", "analyze", "--top", "5"}, ""},
		{"bench --save, password in a keyword DSN", nil, []string{"--dsn", d.keywords(d.password), "--format", "json", "bench", "--workload", workload, "--iterations", "3", "--save", filepath.Join(dir, "bench-dsn.json")}, filepath.Join(dir, "bench-dsn.json")},
		{"bench --save, password in PGPASSWORD", d.pgEnv(d.password), []string{"bench", "--workload", workload, "--iterations", "3", "--save", filepath.Join(dir, "bench-env.json")}, filepath.Join(dir, "bench-env.json")},
	}
	if hypopg {
		successes = append(successes,
			success{"indexes propose --save, password in .pgpass", d.pgpassEnv(t, d.password), []string{"--format", "json", "indexes", "propose", "--workload", workload, "--save", filepath.Join(dir, "proposals.json")}, filepath.Join(dir, "proposals.json")},
			success{"indexes propose --save, password in a URL DSN", nil, []string{"--dsn", d.url(d.password), "indexes", "propose", "--workload", workload, "--save", filepath.Join(dir, "proposals-dsn.json")}, filepath.Join(dir, "proposals-dsn.json")},
		)
	} else {
		t.Log("hypopg is not installed: indexes propose not run")
	}
	for _, tt := range successes {
		t.Run(tt.name, func(t *testing.T) {
			r := cliEnv(t, tt.env, tt.args...)
			if r.code != exitOK {
				t.Errorf("exit %d: %s", r.code, r.stderr)
			}
			assertNoSecret(t, "stdout", r.stdout, secrets...)
			assertNoSecret(t, "stderr", r.stderr, secrets...)
			if tt.saved != "" {
				data, err := os.ReadFile(tt.saved)
				if err != nil {
					t.Fatalf("nothing saved: %v", err)
				}
				assertNoSecret(t, tt.saved, string(data), secrets...)
			}
		})
	}
}
