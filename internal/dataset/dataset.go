// Package dataset creates the HishamOS schema and fills it with synthetic,
// deterministic data: the same seed and scale give the same rows, byte for
// byte, on any machine and any day.
//
// The data is shaped like a HishamOS database after a year of use, so that
// plans look like production ones: a few users and agents carry most of the
// executions, most executions completed, activity grows toward the present,
// ids follow creation time, and the wide text and jsonb columns make
// fetching every column visibly dearer than fetching a few.
//
// Timestamps are laid out backward from ReferenceTime(seed), a fixed time
// the seed picks, never from the clock: executions span the year before it,
// users, agents, templates and workflows the year before that. Anything
// that asks for "recent" rows (the last day, the last 7 days) must measure
// the window from the data's own latest timestamp, max(created_at), not
// from now(): the data does not age with the calendar.
package dataset

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// tableSpec is one HishamOS table: its columns in the order the generator
// writes them, its row count at a scale, its generator, and the bytes a row
// takes on disk, about, for sharing the load out between connections.
type tableSpec struct {
	name     string
	columns  []string
	rows     func(Scale) int64
	gen      func(*world) rowGen
	rowBytes int64
}

// tableSpecs are in load order: parents before children.
var tableSpecs = []tableSpec{
	{"auth_user", userColumns, func(s Scale) int64 { return s.Users },
		func(w *world) rowGen { return w.indexed(saltUsers, w.scale.Users, w.userRow) }, 250},
	{"projects_project", projectColumns, func(s Scale) int64 { return s.Projects },
		func(w *world) rowGen { return w.indexed(saltProjects, w.scale.Projects, w.projectRow) }, 250},
	{"commands_commandcategory", categoryColumns, func(s Scale) int64 { return s.Categories },
		func(w *world) rowGen { return w.indexed(saltCategories, w.scale.Categories, w.categoryRow) }, 200},
	{"agents_agent", agentColumns, func(s Scale) int64 { return s.Agents },
		func(w *world) rowGen { return w.indexed(saltAgents, w.scale.Agents, w.agentRow) }, 1400},
	{"commands_commandtemplate", templateColumns, func(s Scale) int64 { return s.Templates },
		func(w *world) rowGen { return w.indexed(saltTemplates, w.scale.Templates, w.templateRow) }, 1300},
	{"agents_agentexecution", agentExecutionColumns, func(s Scale) int64 { return s.AgentExecutions },
		func(w *world) rowGen {
			return w.indexed(saltAgentExecutions, w.scale.AgentExecutions, w.agentExecutionRow)
		}, 500},
	{"workflows_workflow", workflowColumns, func(s Scale) int64 { return s.Workflows },
		func(w *world) rowGen { return w.indexed(saltWorkflows, w.scale.Workflows, w.workflowRow) }, 1000},
	{"workflows_workflowexecution", workflowExecutionColumns, func(s Scale) int64 { return s.WorkflowExecutions },
		func(w *world) rowGen { return w.workflowExecutions() }, 390},
	{"workflows_workflowstep", workflowStepColumns, func(s Scale) int64 { return s.WorkflowSteps },
		func(w *world) rowGen { return w.stepGen() }, 220},
}

// Tables returns the HishamOS tables in load order, parents before the
// tables that reference them.
func Tables() []string {
	names := make([]string, len(tableSpecs))
	for i, t := range tableSpecs {
		names[i] = t.name
	}
	return names
}

// Querier is the part of pgx's API this package reads through; *pgx.Conn,
// pgx.Tx and *pgxpool.Pool all have it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// TableCount is the number of rows in one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// RowCounts returns the exact number of rows of each HishamOS table, in load
// order. It reads every table in full: at the large scale that takes a few
// seconds.
func RowCounts(ctx context.Context, q Querier) ([]TableCount, error) {
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, t := range tableSpecs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(SELECT count(*) FROM " + pgx.Identifier{t.name}.Sanitize() + ")")
	}
	counts := make([]int64, len(tableSpecs))
	dest := make([]any, len(counts))
	for i := range counts {
		dest[i] = &counts[i]
	}
	if err := q.QueryRow(ctx, sb.String()).Scan(dest...); err != nil {
		return nil, fmt.Errorf("dataset: count rows: %w", err)
	}
	out := make([]TableCount, len(tableSpecs))
	for i, t := range tableSpecs {
		out[i] = TableCount{Table: t.name, Rows: counts[i]}
	}
	return out, nil
}

// Progress reports how far a load has got. Rows count toward the whole load,
// all tables together.
type Progress struct {
	// Phase is what the load is doing: PhaseCopy until every row is in
	// (indexes of the first tables are built meanwhile), then PhaseIndexes,
	// PhaseAnalyze and PhaseConstraints, in that order.
	Phase string `json:"phase"`
	// Table is a table being worked on; empty between phases.
	Table string `json:"table"`
	// RowsDone and RowsTotal count rows of all tables.
	RowsDone  int64 `json:"rows_done"`
	RowsTotal int64 `json:"rows_total"`
}

// The phases of a load, in order.
const (
	PhaseCopy        = "copy"
	PhaseIndexes     = "indexes"
	PhaseAnalyze     = "analyze"
	PhaseConstraints = "constraints"
)

// Options configure Load.
type Options struct {
	// Scale sets the row counts; see ParseScale.
	Scale Scale
	// Seed picks the data: the same seed and scale give the same rows.
	Seed int64
	// Replace drops the HishamOS tables and recreates them when they exist;
	// without it Load refuses to touch tables that hold rows.
	Replace bool
	// Progress, when not nil, is called at most ten times a second, plus
	// once when each phase starts and once when the rows are all in. The
	// load's goroutines call it one at a time.
	Progress func(p Progress)
}

// Result describes a finished load.
type Result struct {
	Scale     string       `json:"scale"`
	Seed      int64        `json:"seed"`
	Tables    []TableCount `json:"tables"`
	TotalRows int64        `json:"total_rows"`
	// Duration is the whole load: schema, rows, indexes, statistics and
	// constraints, until the tables are in place.
	Duration time.Duration `json:"duration_ns"`
	// RowsPerSecond is TotalRows over Duration.
	RowsPerSecond float64 `json:"rows_per_second"`
	// CopyDuration is the time spent streaming rows, IndexDuration building
	// primary keys, unique constraints and indexes, AnalyzeDuration in
	// VACUUM (ANALYZE), ConstraintDuration validating the foreign keys and
	// moving the tables into place; each is summed over the connections, so
	// with two they can add up to more than Duration.
	CopyDuration       time.Duration `json:"copy_duration_ns"`
	IndexDuration      time.Duration `json:"index_duration_ns"`
	AnalyzeDuration    time.Duration `json:"analyze_duration_ns"`
	ConstraintDuration time.Duration `json:"constraint_duration_ns"`
	// Connections is how many connections the load used at once.
	Connections int `json:"connections"`
	// ReferenceTime is the data's "now"; see ReferenceTime.
	ReferenceTime time.Time `json:"reference_time"`
}
