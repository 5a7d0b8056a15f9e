package pg

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestFixFor(t *testing.T) {
	denied := func(msg string) error {
		return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "42501", Message: msg})
	}
	cases := []struct {
		err             error
		role, privilege string
		want            string
	}{
		{denied("permission denied for table agents_agentexecution"), "reader", "", "GRANT SELECT ON agents_agentexecution TO reader;"},
		{denied("permission denied for view Mixed Case"), "r", "SELECT", `GRANT SELECT ON "Mixed Case" TO r;`},
		{denied("permission denied for schema atlas_schema_revisions"), "app", "USAGE, CREATE", "GRANT USAGE, CREATE ON SCHEMA atlas_schema_revisions TO app;"},
		{denied("permission denied for schema s"), "app", "", "GRANT USAGE ON SCHEMA s TO app;"},
		{denied("permission denied for database test_1"), "App", "CREATE", `GRANT CREATE ON DATABASE test_1 TO "App";`},
		{denied("must be owner of table t"), `we"ird`, "", `ALTER TABLE t OWNER TO "we""ird";`},
	}
	for _, c := range cases {
		got, ok := FixFor(c.err, c.role, c.privilege)
		if !ok || got != c.want {
			t.Errorf("FixFor(%v) = %q, %v; want %q", c.err, got, ok, c.want)
		}
		err := PrivilegeError(c.err, c.role, c.privilege)
		if !errors.Is(err, ErrPrivilege) || err.Error() != c.err.Error()+": run "+c.want {
			t.Errorf("PrivilegeError = %v", err)
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			t.Errorf("PrivilegeError hides the server error")
		}
	}
	for _, err := range []error{
		errors.New("plain"),
		&pgconn.PgError{Code: "42P01", Message: "relation \"x\" does not exist"},
		&pgconn.PgError{Code: "42501", Message: "permission denied to create role"},
	} {
		if _, ok := FixFor(err, "r", ""); ok {
			t.Errorf("FixFor(%v) claims a fix", err)
		}
		if PrivilegeError(err, "r", "") != err {
			t.Errorf("PrivilegeError(%v) changed the error", err)
		}
	}
}

func TestFixForNeedPerKind(t *testing.T) {
	need := Need{Schema: "CREATE", Database: "CREATE"}
	cases := map[string]string{
		"permission denied for table auth_user": "GRANT SELECT ON auth_user TO r;",
		"permission denied for schema public":   "GRANT CREATE ON SCHEMA public TO r;",
		"permission denied for database db":     "GRANT CREATE ON DATABASE db TO r;",
	}
	for msg, want := range cases {
		err := &pgconn.PgError{Code: "42501", Message: msg}
		if got, ok := FixForNeed(err, "r", need); !ok || got != want {
			t.Errorf("FixForNeed(%q) = %q, %v; want %q", msg, got, ok, want)
		}
	}
	once := PrivilegeErrorNeed(&pgconn.PgError{Code: "42501", Message: "permission denied for table t"}, "r", need)
	if twice := PrivilegeErrorNeed(once, "r", need); twice.Error() != once.Error() {
		t.Errorf("a rewritten error got a second fix: %v", twice)
	}
}

func TestFixForAll(t *testing.T) {
	denied := func(msg string) error {
		return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "42501", Message: msg})
	}
	errs := []error{
		denied("permission denied for table tickets"),
		errors.New("not a privilege error"),
		denied("permission denied for schema s"),
		denied("permission denied for table tickets"),
		denied("permission denied for view Mixed Case"),
		denied("must be owner of table t"),
		denied("permission denied for materialized view mv"),
	}
	got := FixForAll(errs, "mon", Need{})
	want := []string{
		`GRANT SELECT ON tickets, "Mixed Case", mv TO mon;`,
		"GRANT USAGE ON SCHEMA s TO mon;",
		"ALTER TABLE t OWNER TO mon;",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FixForAll (-want +got):\n%s", diff)
	}
	if got := FixForAll([]error{errors.New("x")}, "mon", Need{}); len(got) != 0 {
		t.Errorf("FixForAll of no privilege error = %q", got)
	}
}
