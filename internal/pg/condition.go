package pg

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrStandby marks a refusal because the server is a read-only hot
// standby (pg_is_in_recovery()): what needs a READ WRITE transaction
// cannot run there, whatever the statement. It is the server's state,
// not the user's input: exit code 3.
var ErrStandby = errors.New("the server is a read-only hot standby")

// serverClasses are the SQLSTATE classes of errors that come from the
// server's state rather than from what a statement says: connection
// exceptions (08), invalid authorization (28), transaction rollbacks such
// as serialization failures and deadlocks (40), insufficient resources
// (53), objects not in the state needed, such as a lock not granted
// within lock_timeout (55), operator intervention, such as a
// statement_timeout or a shutdown (57), system errors (58), configuration
// file errors (F0), foreign data wrapper errors from a remote server (HV)
// and internal errors (XX). From the PostgreSQL documentation's appendix
// "PostgreSQL Error Codes".
var serverClasses = map[string]bool{
	"08": true, "28": true, "40": true, "53": true, "55": true,
	"57": true, "58": true, "F0": true, "HV": true, "XX": true,
}

// insufficientPrivilege is 42501: the role lacks a grant, which is the
// database's say, not the statement's fault, although its class (42) is
// that of syntax errors and unknown names.
const insufficientPrivilege = "42501"

// ServerCondition reports whether err is the server refusing for a reason
// of its own state or of the role's rights (a lock held by another
// session, a timeout, a lack of resources, a shutdown, a missing
// privilege, a standby asked to write) rather than because of what the
// statement says (a syntax error, an unknown name, a division by zero, a
// write in a read-only transaction). Commands exit 3 for the first kind
// and 2 for the second.
func ServerCondition(err error) bool {
	if errors.Is(err, ErrStandby) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	return serverClasses[pgErr.Code[:2]] || pgErr.Code == insufficientPrivilege
}
