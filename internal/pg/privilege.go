package pg

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrPrivilege marks an error rewritten by PrivilegeError: the role lacks a
// privilege, and the message ends with the statement that grants it.
var ErrPrivilege = errors.New("insufficient privilege")

var (
	deniedRe = regexp.MustCompile(`^permission denied for (table|view|materialized view|sequence|relation|schema|database) (.+)$`)
	ownerRe  = regexp.MustCompile(`^must be owner of (table|relation|index|materialized view) (.+)$`)
	plainRe  = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)
)

// FixFor returns the one statement that gives role what a 42501 error
// (insufficient_privilege) on a relation, schema or database asks for, and
// false for any other error. privilege is what the caller was doing
// ("SELECT", "CREATE", "USAGE, CREATE"); empty means SELECT on a relation,
// USAGE on a schema and CONNECT on a database.
func FixFor(err error, role, privilege string) (string, bool) {
	return FixForNeed(err, role, Need{Relation: privilege, Schema: privilege, Database: privilege})
}

// Need names the privilege a command needs on each kind of object, for
// commands that need different ones: seed reads tables but creates schemas.
// An empty field means SELECT on a relation, USAGE on a schema and CONNECT
// on a database.
type Need struct{ Relation, Schema, Database string }

// FixForNeed is FixFor with a privilege per kind of object.
func FixForNeed(err error, role string, need Need) (string, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		return "", false
	}
	if m := ownerRe.FindStringSubmatch(pe.Message); m != nil {
		return fmt.Sprintf("ALTER TABLE %s OWNER TO %s;", quote(m[2]), quote(role)), true
	}
	m := deniedRe.FindStringSubmatch(pe.Message)
	if m == nil {
		return "", false
	}
	kind, object, privilege := "", quote(m[2]), need.Relation
	switch m[1] {
	case "schema":
		kind, privilege = "SCHEMA ", need.Schema
		if privilege == "" {
			privilege = "USAGE"
		}
	case "database":
		kind, privilege = "DATABASE ", need.Database
		if privilege == "" {
			privilege = "CONNECT"
		}
	default:
		if privilege == "" {
			privilege = "SELECT"
		}
	}
	return fmt.Sprintf("GRANT %s ON %s%s TO %s;", privilege, kind, object, quote(role)), true
}

// PrivilegeError turns a 42501 error into one line, "<server message>: run
// <GRANT ...>", wrapping ErrPrivilege and err; other errors
// come back unchanged. role is the session's user.
func PrivilegeError(err error, role, privilege string) error {
	return PrivilegeErrorNeed(err, role, Need{Relation: privilege, Schema: privilege, Database: privilege})
}

// PrivilegeErrorNeed is PrivilegeError with a privilege per kind of object.
// An error already rewritten comes back unchanged.
func PrivilegeErrorNeed(err error, role string, need Need) error {
	if errors.Is(err, ErrPrivilege) {
		return err
	}
	fix, ok := FixForNeed(err, role, need)
	if !ok {
		return err
	}
	return &privilegeError{err: err, fix: fix}
}

type privilegeError struct {
	err error
	fix string
}

func (e *privilegeError) Error() string   { return e.err.Error() + ": run " + e.fix }
func (e *privilegeError) Unwrap() []error { return []error{ErrPrivilege, e.err} }

func quote(name string) string {
	if plainRe.MatchString(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
