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
	f, ok := fixFor(err, need)
	if !ok {
		return "", false
	}
	return f.statement([]string{f.object}, role), true
}

// FixForAll returns the fewest statements that give role what every 42501
// error of errs asks for: one GRANT per privilege and kind of object naming
// each object once ("GRANT SELECT ON a, b TO r;"), and an ALTER … OWNER per
// table to own, in the order the errors first name them. Other errors are
// left out. A command that goes on past the objects it may not read says
// this once, not once per statement.
func FixForAll(errs []error, role string, need Need) []string {
	type group struct {
		fix     fix
		objects []string
	}
	var groups []*group
	seen := map[fix]bool{}
	for _, err := range errs {
		f, ok := fixFor(err, need)
		if !ok || seen[f] {
			continue
		}
		seen[f] = true
		var g *group
		for _, h := range groups {
			if !f.owner && h.fix.privilege == f.privilege && h.fix.kind == f.kind && !h.fix.owner {
				g = h
			}
		}
		if g == nil {
			g = &group{fix: f}
			groups = append(groups, g)
		}
		g.objects = append(g.objects, f.object)
	}
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = g.fix.statement(g.objects, role)
	}
	return out
}

// fix is what one 42501 error asks for: a privilege on an object of a
// kind ("SCHEMA ", "DATABASE ", or "" for a relation), or its ownership.
type fix struct {
	privilege, kind, object string
	owner                   bool
}

// statement is the GRANT (or ALTER … OWNER, one object each) that gives
// role the fix on the objects.
func (f fix) statement(objects []string, role string) string {
	if f.owner {
		return fmt.Sprintf("ALTER TABLE %s OWNER TO %s;", objects[0], quote(role))
	}
	return fmt.Sprintf("GRANT %s ON %s%s TO %s;", f.privilege, f.kind, strings.Join(objects, ", "), quote(role))
}

// fixFor reads what a 42501 error on a relation, schema or database asks
// for, and false for any other error.
func fixFor(err error, need Need) (fix, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" {
		return fix{}, false
	}
	if m := ownerRe.FindStringSubmatch(pe.Message); m != nil {
		return fix{object: quote(m[2]), owner: true}, true
	}
	m := deniedRe.FindStringSubmatch(pe.Message)
	if m == nil {
		return fix{}, false
	}
	f := fix{object: quote(m[2]), privilege: need.Relation}
	switch m[1] {
	case "schema":
		f.kind, f.privilege = "SCHEMA ", need.Schema
		if f.privilege == "" {
			f.privilege = "USAGE"
		}
	case "database":
		f.kind, f.privilege = "DATABASE ", need.Database
		if f.privilege == "" {
			f.privilege = "CONNECT"
		}
	default:
		if f.privilege == "" {
			f.privilege = "SELECT"
		}
	}
	return f, true
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
