package sandbox_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// TestSandboxReplicas: SetReplicas gives the sandbox streaming standbys on
// ports of their own that status lists, Down stops them with the primary,
// SetReplicas after an up starts them again following the primary, and
// SetReplicas(0) removes them.
func TestSandboxReplicas(t *testing.T) {
	ctx := context.Background()
	box := newBox(t)
	if _, err := box.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := box.SetReplicas(ctx, sandbox.MaxReplicas+1); err == nil {
		t.Fatalf("SetReplicas(%d) made them; want refused", sandbox.MaxReplicas+1)
	}
	reps, err := box.SetReplicas(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	status, err := box.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || len(status.Replicas) != 1 || !status.Replicas[0].Running || status.Replicas[0].Port == status.Port || status.Replicas[0].Name != "replica1" {
		t.Fatalf("status replicas %+v (primary port %d); want replica1 running on a port of its own", status.Replicas, status.Port)
	}
	inRecovery := func(b *sandbox.Sandbox) bool {
		t.Helper()
		st, err := b.LoadState()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, b.DSN(st, "postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var r bool
		if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if !inRecovery(reps[0]) || inRecovery(box) {
		t.Fatal("replica1 is not in recovery, or the primary is")
	}

	if _, err := box.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if status, err = box.Status(ctx); err != nil || status.Running || len(status.Replicas) != 1 || status.Replicas[0].Running {
		t.Fatalf("after down: %+v, %v; want the primary and replica1 stopped", status, err)
	}
	if _, err := box.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if reps, err = box.SetReplicas(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !inRecovery(reps[0]) {
		t.Fatal("replica1 started again is not a standby")
	}
	dir := reps[0].Dir
	if _, err := box.SetReplicas(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("SetReplicas(0) left %s (%v)", dir, err)
	}
	if status, err = box.Status(ctx); err != nil || len(status.Replicas) != 0 {
		t.Errorf("after SetReplicas(0): replicas %+v, %v; want none", status.Replicas, err)
	}
}
