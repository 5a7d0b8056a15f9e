//go:build !linux

package wire

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// HasDirect says whether this system has the direct path: not this one
// (its raw system calls are Linux's), so every session is on pgconn.
const HasDirect = false

// openDirect has no direct path to offer here.
func openDirect(context.Context, *pgconn.PgConn, TxStatements) (Session, error) { return nil, nil }

// IsDirect reports whether s runs its calls on the direct path: never
// here.
func IsDirect(Session) bool { return false }

// runDirect has no direct sessions to run here.
func runDirect([]Session, int, func(int)) bool { return false }
