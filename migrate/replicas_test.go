package migrate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hishamos/hishamos-perf/internal/testdb"
)

// waitEvent waits until ev has seen kind, failing the test after limit.
func waitEvent(t *testing.T, ev *events, kind EventKind, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for ev.kinds()[kind] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %s event after %s: %+v", kind, limit, ev.all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apply with standbys (issue 23 item 3), on a real streaming standby: the
// standby itself is refused as the target, naming its primary and
// changing nothing; with replay paused, apply waits (reporting it) and
// records the revision only once the standby has replayed the build and
// shows the index valid; past --replica-timeout it stops naming the
// node and how far behind it is, with nothing recorded, and the next
// apply takes the index as done, waits again and records it.
func TestFleetApplyWaitsForStandby(t *testing.T) {
	ctx := context.Background()
	standby := testdb.StartStandby(t)
	dsn := testdb.NewDatabase(t)
	conn := applier(t, dsn)
	mustExec(t, conn, `CREATE TABLE t (id int PRIMARY KEY, a int, b int)`)
	mustExec(t, conn, `INSERT INTO t SELECT i, i % 97, i % 13 FROM generate_series(1, 20000) i`)
	standby.CatchUp(t)
	onStandby := standby.DSN(t, dsn)
	sconn := testdb.Conn(t, onStandby)
	d := planDir(t, spec{Table: "t", Columns: []string{"a"}})

	before := testdb.TakeFingerprint(t, dsn)
	_, err := Apply(ctx, applier(t, onStandby), d, ApplyOptions{})
	var ste *StandbyTargetError
	if !errors.As(err, &ste) || ste.Primary == "" {
		t.Fatalf("apply on the standby = %v; want a StandbyTargetError naming the primary", err)
	}
	if diff := before.Diff(testdb.TakeFingerprint(t, dsn)); len(diff) > 0 {
		t.Errorf("the refused apply changed the primary: %v", diff)
	}
	if n := revisionCount(t, conn); n != 0 {
		t.Fatalf("%d revisions after the refused apply", n)
	}

	// Replay paused: apply builds, waits, and records only after resume.
	mustExec(t, sconn, `SELECT pg_wal_replay_pause()`)
	t.Cleanup(func() { sconn.Exec(context.Background(), `SELECT pg_wal_replay_resume()`) })
	var ev events
	replicas := []Replica{{Name: "standby", Q: sconn}}
	done := applyInBackground(ctx, conn, d, ApplyOptions{Replicas: replicas, ReplicaTimeout: time.Minute, Observer: ev.observe})
	waitEvent(t, &ev, EventReplicaWait, 30*time.Second)
	if n := revisionCount(t, testdb.Conn(t, dsn)); n != 0 {
		t.Errorf("%d revisions while the standby has not replayed the build; want none", n)
	}
	mustExec(t, sconn, `SELECT pg_wal_replay_resume()`)
	if err := <-done; err != nil {
		t.Fatalf("apply after the replay resumed: %v", err)
	}
	if n := revisionCount(t, conn); n != 1 {
		t.Errorf("%d revisions after the standby caught up; want 1", n)
	}
	if ix := indexes(t, sconn, "t")["t_a_idx"]; !ix.valid {
		t.Errorf("t_a_idx on the standby once apply returned: %+v; want valid", ix)
	}

	// Past the timeout: the node, how far behind, nothing recorded.
	d = planDir(t, spec{Table: "t", Columns: []string{"a"}}, spec{Table: "t", Columns: []string{"b"}})
	mustExec(t, sconn, `SELECT pg_wal_replay_pause()`)
	_, err = Apply(ctx, conn, d, ApplyOptions{Replicas: replicas, ReplicaTimeout: time.Second})
	var rle *ReplicaLagError
	if !errors.As(err, &rle) || rle.Node != "standby" || !rle.Paused || rle.BehindBytes <= 0 || rle.Index != "" {
		t.Fatalf("apply with the replay paused = %v (%+v); want a ReplicaLagError naming the standby, paused and behind", err, rle)
	}
	if n := revisionCount(t, conn); n != 1 {
		t.Errorf("%d revisions after the timeout; want 1: the second file's is not recorded", n)
	}
	if ix := indexes(t, conn, "t")["t_b_idx"]; !ix.valid {
		t.Errorf("t_b_idx on the primary after the timeout: %+v; want kept, valid", ix)
	}
	mustExec(t, sconn, `SELECT pg_wal_replay_resume()`)
	res, err := Apply(ctx, conn, d, ApplyOptions{Replicas: replicas, ReplicaTimeout: time.Minute})
	if err != nil || len(res.Files) != 1 || res.Files[0].Status != "marked-applied" {
		t.Fatalf("apply again = %+v, %v; want the second file marked applied", res, err)
	}
	if n := revisionCount(t, conn); n != 2 {
		t.Errorf("%d revisions after the re-run; want 2", n)
	}

	// The standby's session lost while apply waits: apply stops, nothing
	// recorded for the file.
	d = planDir(t, spec{Table: "t", Columns: []string{"a"}}, spec{Table: "t", Columns: []string{"b"}}, spec{Table: "t", Columns: []string{"a", "b"}})
	lost := testdb.Conn(t, onStandby)
	mustExec(t, sconn, `SELECT pg_wal_replay_pause()`)
	ev = events{}
	done = applyInBackground(ctx, conn, d, ApplyOptions{Replicas: []Replica{{Name: "standby", Q: lost}}, ReplicaTimeout: time.Minute, Observer: ev.observe})
	waitEvent(t, &ev, EventReplicaWait, 30*time.Second)
	mustExec(t, sconn, `SELECT pg_terminate_backend($1)`, int32(lost.PgConn().PID()))
	if err := <-done; err == nil || errors.As(err, &rle) {
		t.Fatalf("apply with the standby's session lost = %v; want the lost session's error", err)
	}
	if n := revisionCount(t, conn); n != 2 {
		t.Errorf("%d revisions after the standby's session was lost; want 2: the third file's is not recorded", n)
	}
	mustExec(t, sconn, `SELECT pg_wal_replay_resume()`)
}
