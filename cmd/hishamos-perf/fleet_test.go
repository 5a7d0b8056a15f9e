package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hishamos/hishamos-perf/internal/fleet"
)

// TestSandboxReplicasCLI: sandbox up --replicas 1 starts a streaming
// standby that status lists beside the primary (role, port, replay lag),
// url --node prints its connection string, down stops both, and a number
// of replicas out of range is refused before anything starts.
func TestSandboxReplicasCLI(t *testing.T) {
	dir := sandboxDir(t)
	if r := cli(t, "sandbox", "up", "--dir", dir, "--replicas", "7"); r.code != 2 || !strings.Contains(r.stderr, "--replicas 7") {
		t.Fatalf("--replicas 7: exit %d, %q; want 2 naming it", r.code, r.stderr)
	}
	r := cli(t, "--format", "json", "sandbox", "up", "--dir", dir, "--replicas", "1")
	if r.code != 0 {
		t.Fatalf("sandbox up --replicas 1: exit %d\n%s", r.code, r.stderr)
	}
	var rep sandboxReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rep.Nodes) != 2 || rep.Nodes[0].Role != fleet.Primary || rep.Nodes[1].Name != "replica1" || rep.Nodes[1].Role != fleet.Standby || rep.Nodes[1].ReplayLagBytes == nil {
		t.Fatalf("nodes %+v; want the primary and replica1, a standby with its replay lag", rep.Nodes)
	}
	if len(rep.Sandbox.Replicas) != 1 || rep.Sandbox.Replicas[0].Port == rep.Sandbox.Port || !rep.Sandbox.Replicas[0].Running {
		t.Errorf("replicas %+v; want replica1 running on a port of its own", rep.Sandbox.Replicas)
	}
	text := cli(t, "sandbox", "status", "--dir", dir)
	if !strings.Contains(text.stdout, "replica1  standby") {
		t.Errorf("status does not list replica1 as a standby:\n%s", text.stdout)
	}
	url := cli(t, "sandbox", "url", "--dir", dir, "--node", "replica1")
	if url.code != 0 || !strings.Contains(url.stdout, "/replica1/run") {
		t.Errorf("url --node replica1: exit %d, %q", url.code, url.stdout)
	}
	if bad := cli(t, "sandbox", "url", "--dir", dir, "--node", "replica2"); bad.code != 2 || !strings.Contains(bad.stderr, "primary, replica1") {
		t.Errorf("url --node replica2: exit %d, %q; want 2 listing the nodes", bad.code, bad.stderr)
	}
	if r := cli(t, "sandbox", "down", "--dir", dir); r.code != 0 {
		t.Fatalf("down: exit %d, %s", r.code, r.stderr)
	}
	st := cli(t, "--format", "json", "sandbox", "status", "--dir", dir)
	var stopped sandboxReport
	if err := json.Unmarshal([]byte(st.stdout), &stopped); err != nil || stopped.Sandbox.Running || len(stopped.Sandbox.Replicas) != 1 || stopped.Sandbox.Replicas[0].Running {
		t.Errorf("status after down: %v, %+v; want the primary and replica1 stopped", err, stopped.Sandbox)
	}
}
