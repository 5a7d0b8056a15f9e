package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/hishamos/hishamos-perf/internal/dataset"
	"github.com/hishamos/hishamos-perf/internal/fleet"
	"github.com/hishamos/hishamos-perf/internal/pg"
	"github.com/hishamos/hishamos-perf/internal/render"
	"github.com/hishamos/hishamos-perf/internal/sandbox"
)

// The schema ids of sandbox's and seed's JSON documents.
const (
	schemaSandbox = "hishamos-perf/sandbox/v1"
	schemaSeed    = "hishamos-perf/seed/v1"
)

// SandboxReport is the document `sandbox status --format json` writes.
type SandboxReport struct {
	Schema  string               `json:"schema"`
	Sandbox sandbox.Status       `json:"sandbox"`
	Tables  []dataset.TableCount `json:"tables,omitempty"`
	// Nodes are the primary and its running replicas as the fleet sees
	// them (role, replay lag), when the sandbox has replicas.
	Nodes []fleet.Node `json:"nodes,omitempty"`
}

// Sandbox lays the sandbox's status out and, when it runs (counts is not
// nil), the HishamOS tables' row counts, and its nodes when it has
// replicas (nodes as fleet.Inspect read the running ones).
func Sandbox(status sandbox.Status, counts []dataset.TableCount, nodes []fleet.Node) *Doc {
	state := "not created"
	switch {
	case status.Running:
		state = fmt.Sprintf("running (pid %d)", status.PID)
	case status.Created:
		state = "stopped"
	}
	info := &KV{Title: "Sandbox", Items: []Item{
		{Key: "state", Value: Str(state), Data: []Field{{"state", stateWord(status)}, {"pid", pidValue(status)}}},
		{Key: "folder", Value: Str(status.Dir)},
	}}
	if status.Created {
		info.Items = append(info.Items,
			Item{Key: "server", Value: Full("PostgreSQL "+status.Version, status.Version)},
			Item{Key: "binaries", Value: Str(status.Binaries.Origin() + ": " + status.Binaries.BinDir)},
			Item{Key: "socket", Value: Str(status.Socket)},
			Item{Key: "port", Value: Num(status.Port, fmt.Sprintf("127.0.0.1:%d", status.Port))},
			Item{Key: "data", Value: orDash(status.Seeded)},
		)
	}
	if status.Running {
		info.Items = append(info.Items, Item{Key: "extensions", Value: Str(strings.Join(status.Extensions, ", "))})
	}
	doc := &Doc{JSON: SandboxReport{Schema: schemaSandbox, Sandbox: status, Tables: counts, Nodes: nodes}, Blocks: []Block{info}}
	if len(status.Replicas) > 0 {
		doc.Blocks = append(doc.Blocks, sandboxNodes(status, nodes))
	}
	if status.Running {
		doc.Blocks = append(doc.Blocks, rowCounts(counts))
	}
	return doc
}

// sandboxNodes is the table of the sandbox's primary and replicas: role,
// port and how far each replica's replay is behind the primary.
func sandboxNodes(status sandbox.Status, nodes []fleet.Node) *Table {
	t := &Table{Title: "Nodes", Columns: []Column{{Name: "node"}, {Name: "role"}, {Name: "port", Right: true}, {Name: "state"},
		{Name: "replay lag", Right: true, CSV: "replay lag bytes"}, {Name: "last replayed", Whole: true}}}
	found := map[string]fleet.Node{}
	for _, n := range nodes {
		found[n.Name] = n
	}
	row := func(name string, port int, running bool) {
		n, ok := found[name]
		state := "stopped"
		if running {
			state = "running"
		}
		role, lag, last := Dash(), Dash(), Dash()
		if ok {
			role = Str(string(n.Role))
			if n.ReplayPaused {
				state = "replay paused"
			}
			if n.ReplayLagBytes != nil {
				lag = Num(*n.ReplayLagBytes, pg.Size(*n.ReplayLagBytes))
			}
			if n.LastReplayed != nil {
				last = Full(n.LastReplayed.UTC().Format("2006-01-02 15:04:05 UTC"), n.LastReplayed.UTC().Format(time.RFC3339Nano))
			}
		}
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(name), role, Int(port), Str(state), lag, last}})
	}
	row(fleet.PrimaryName, status.Port, status.Running)
	for _, r := range status.Replicas {
		row(r.Name, r.Port, r.Running)
	}
	t.Note = "replay lag: the primary's flushed WAL a replica has not replayed yet"
	return t
}

// stateWord is the sandbox's state in one word, for CSV.
func stateWord(s sandbox.Status) string {
	switch {
	case s.Running:
		return "running"
	case s.Created:
		return "stopped"
	}
	return "not created"
}

// pidValue is the server's pid, or None when it does not run.
func pidValue(s sandbox.Status) any {
	if !s.Running {
		return None
	}
	return s.PID
}

// SeedReport is the document `seed --format json` writes.
type SeedReport struct {
	Schema string         `json:"schema"`
	Target string         `json:"target"`
	Result dataset.Result `json:"result"`
}

// Seed lays a load out: the tables' row counts and how fast they loaded.
func Seed(res dataset.Result, target string) *Doc {
	counts := rowCounts(res.Tables)
	counts.Note = fmt.Sprintf("%d rows in %s: %s rows/s", res.TotalRows, res.Duration.Round(time.Millisecond), render.Count(int64(res.RowsPerSecond)))
	return &Doc{JSON: SeedReport{Schema: schemaSeed, Target: target, Result: res}, Blocks: []Block{counts}}
}

// rowCounts is the HishamOS tables' row counts with a total.
func rowCounts(counts []dataset.TableCount) *Table {
	t := &Table{Title: "HishamOS tables", Columns: []Column{{Name: "table"}, {Name: "rows", Right: true}}}
	var total int64
	for _, c := range counts {
		t.Rows = append(t.Rows, Row{Cells: []Cell{Str(c.Table), Int(c.Rows)}})
		total += c.Rows
	}
	t.Rows = append(t.Rows, Row{Cells: []Cell{Str("total"), Int(total)}})
	return t
}
