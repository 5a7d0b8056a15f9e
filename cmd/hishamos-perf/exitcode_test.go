package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestExitCodeLostConnection: a session the server ended, or a connection
// that broke, is a database failure (3), never bad usage (2), however deep
// the error is wrapped. The fault suite (faults/) finds these for real.
func TestExitCodeLostConnection(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"session terminated", fmt.Errorf("migrate: f.sql: build x: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01"}), exitDatabase},
		{"disk full", fmt.Errorf("migrate: f.sql: build x: %w", &pgconn.PgError{Code: "53100"}), exitDatabase},
		{"connection reset", fmt.Errorf("bench: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), exitDatabase},
		{"unknown flag", errors.New("unknown flag: --nope"), exitUsage},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exit code %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestExitCodeFailedBuild: a build the server refuses because the file does
// not fit the data is bad input (2); one it cannot finish for want of disk,
// privilege or a session is the database's (3).
func TestExitCodeFailedBuild(t *testing.T) {
	a := &app{}
	tests := []struct {
		name string
		code string
		want int
	}{
		{"unique index over duplicates", "23505", exitUsage},
		{"no such column", "42703", exitUsage},
		{"disk full", "53100", exitDatabase},
		{"session terminated", "57P01", exitDatabase},
		{"no privilege", "42501", exitDatabase},
	}
	for _, tt := range tests {
		err := a.migrateError(fmt.Errorf("migrate: f.sql: build x: %w", &pgconn.PgError{Code: tt.code}), "")
		if got := exitCode(err); got != tt.want {
			t.Errorf("%s: exit code %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestExitCodeSignals: a run a signal stopped exits 128 + the signal's
// number, as a shell reports a process the signal killed, however the
// command wrapped the cancellation.
func TestExitCodeSignals(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"SIGINT", &interruptedError{sig: os.Interrupt}, exitInterrupted},
		{"SIGTERM", &interruptedError{sig: syscall.SIGTERM}, exitTerminated},
		{"SIGTERM wrapped", fmt.Errorf("explain: %w", &interruptedError{sig: syscall.SIGTERM}), 143},
		{"a cancelled context", fmt.Errorf("explain: %w", context.Canceled), 130},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exit code %d, want %d", tt.name, got, tt.want)
		}
	}
}
