package analyze

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrPlanFormat is returned by ParsePlan for input that is not the output of
// EXPLAIN (FORMAT JSON).
var ErrPlanFormat = errors.New("not an EXPLAIN (FORMAT JSON) plan")

// Plan is one statement's plan as EXPLAIN (FORMAT JSON) returns it, parsed
// into a tree of typed nodes with exclusive (self) times and costs computed.
type Plan struct {
	// Root is the top plan node.
	Root *Node `json:"root"`
	// Analyzed reports whether the plan carries actual times and rows
	// (EXPLAIN ANALYZE).
	Analyzed bool `json:"analyzed"`
	// Generic reports whether the plan was made without parameter values
	// (EXPLAIN (GENERIC_PLAN) or a prepared statement forced to a generic
	// plan). ParsePlan cannot tell; the code that ran EXPLAIN sets it.
	Generic bool `json:"generic"`
	// QueryID is the "Query Identifier" EXPLAIN VERBOSE shows when
	// compute_query_id is on: the queryid pg_stat_statements files the
	// statement under. Zero when absent.
	QueryID int64 `json:"queryid,omitempty"`
	// PlanningTimeMs and ExecutionTimeMs are the summary times (ANALYZE).
	PlanningTimeMs  float64 `json:"planning_time_ms,omitempty"`
	ExecutionTimeMs float64 `json:"execution_time_ms,omitempty"`
	// Planning holds the buffers used to plan (BUFFERS, PostgreSQL 13+).
	Planning *Buffers `json:"planning_buffers,omitempty"`
	// Settings lists the planner settings that differ from their defaults
	// (SETTINGS).
	Settings map[string]string `json:"settings,omitempty"`
	// Triggers lists the triggers fired (ANALYZE of a write).
	Triggers []Trigger `json:"triggers,omitempty"`
	// JIT describes just-in-time compilation, when it ran.
	JIT *JIT `json:"jit,omitempty"`
	// Raw is the EXPLAIN output exactly as the server returned it: it pastes
	// into explain.dalibo.com or explain.depesz.com.
	Raw json.RawMessage `json:"-"`

	nodes       []*Node
	selfCostSum float64
}

// Node is one plan node. Times are milliseconds; rows and loops are as
// EXPLAIN reports them (Actual Rows is per loop, Rows Removed by Filter is
// per loop, Heap Fetches and heap block counts are totals).
type Node struct {
	// ID numbers the nodes in depth-first order from 0 at the root.
	ID int `json:"id"`
	// Depth is 0 at the root.
	Depth  int   `json:"depth"`
	Parent *Node `json:"-"`

	NodeType           string `json:"node_type"`
	ParentRelationship string `json:"parent_relationship,omitempty"`
	SubplanName        string `json:"subplan_name,omitempty"`
	// Strategy is the aggregate strategy (Plain, Sorted, Hashed, Mixed) or
	// the SetOp strategy.
	Strategy      string `json:"strategy,omitempty"`
	PartialMode   string `json:"partial_mode,omitempty"`
	JoinType      string `json:"join_type,omitempty"`
	Operation     string `json:"operation,omitempty"`
	ScanDirection string `json:"scan_direction,omitempty"`
	ParallelAware bool   `json:"parallel_aware,omitempty"`

	RelationName string `json:"relation_name,omitempty"`
	Schema       string `json:"schema,omitempty"`
	Alias        string `json:"alias,omitempty"`
	IndexName    string `json:"index_name,omitempty"`
	CTEName      string `json:"cte_name,omitempty"`
	FunctionName string `json:"function_name,omitempty"`

	StartupCost float64 `json:"startup_cost"`
	TotalCost   float64 `json:"total_cost"`
	PlanRows    float64 `json:"plan_rows"`
	PlanWidth   int     `json:"plan_width"`

	// Executed reports whether the node carries actual figures (ANALYZE);
	// a node the executor never reached has Executed set and zero loops.
	Executed          bool    `json:"executed,omitempty"`
	ActualStartupTime float64 `json:"actual_startup_time_ms,omitempty"`
	ActualTotalTime   float64 `json:"actual_total_time_ms,omitempty"`
	ActualRows        float64 `json:"actual_rows,omitempty"`
	ActualLoops       float64 `json:"actual_loops,omitempty"`

	Output      []string `json:"output,omitempty"`
	Filter      string   `json:"filter,omitempty"`
	JoinFilter  string   `json:"join_filter,omitempty"`
	IndexCond   string   `json:"index_cond,omitempty"`
	RecheckCond string   `json:"recheck_cond,omitempty"`
	HashCond    string   `json:"hash_cond,omitempty"`
	MergeCond   string   `json:"merge_cond,omitempty"`

	RowsRemovedByFilter       float64 `json:"rows_removed_by_filter,omitempty"`
	RowsRemovedByJoinFilter   float64 `json:"rows_removed_by_join_filter,omitempty"`
	RowsRemovedByIndexRecheck float64 `json:"rows_removed_by_index_recheck,omitempty"`
	HeapFetches               float64 `json:"heap_fetches,omitempty"`
	// IndexSearches is how many times an index scan descended its index
	// (PostgreSQL 18 shows it with ANALYZE: more than once per loop for a
	// skip scan or an IN list); 0 before 18.
	IndexSearches   float64 `json:"index_searches,omitempty"`
	ExactHeapBlocks float64 `json:"exact_heap_blocks,omitempty"`
	LossyHeapBlocks float64 `json:"lossy_heap_blocks,omitempty"`

	SortKey       []string `json:"sort_key,omitempty"`
	PresortedKey  []string `json:"presorted_key,omitempty"`
	SortMethod    string   `json:"sort_method,omitempty"`
	SortSpaceUsed int64    `json:"sort_space_used_kb,omitempty"`
	SortSpaceType string   `json:"sort_space_type,omitempty"`
	GroupKey      []string `json:"group_key,omitempty"`

	HashBuckets         int64 `json:"hash_buckets,omitempty"`
	OriginalHashBuckets int64 `json:"original_hash_buckets,omitempty"`
	HashBatches         int64 `json:"hash_batches,omitempty"`
	OriginalHashBatches int64 `json:"original_hash_batches,omitempty"`
	PeakMemoryUsage     int64 `json:"peak_memory_usage_kb,omitempty"`
	HashAggBatches      int64 `json:"hashagg_batches,omitempty"`
	DiskUsage           int64 `json:"disk_usage_kb,omitempty"`

	WorkersPlanned  int `json:"workers_planned,omitempty"`
	WorkersLaunched int `json:"workers_launched,omitempty"`
	// SubplansRemoved is how many partitions an Append or Merge Append
	// pruned at run time (a parameter's value known only then).
	SubplansRemoved float64 `json:"subplans_removed,omitempty"`

	Buffers Buffers `json:"buffers"`

	// SelfTime is the node's exclusive time in milliseconds: its inclusive
	// time (actual total time × loops, divided among the processes of a
	// parallel plan) minus its children's inclusive times; zero without
	// ANALYZE.
	SelfTime float64 `json:"self_time_ms"`
	// InclusiveTime is the node's wall-clock time with its children, in
	// milliseconds.
	InclusiveTime float64 `json:"inclusive_time_ms"`
	// SelfCost is the node's total cost minus its children's: the part of
	// the estimate it adds itself.
	SelfCost float64 `json:"self_cost"`

	Children []*Node `json:"plans,omitempty"`
}

// Buffers are the block counts BUFFERS reports. On a node they include the
// node's children.
type Buffers struct {
	SharedHit     int64   `json:"shared_hit,omitempty"`
	SharedRead    int64   `json:"shared_read,omitempty"`
	SharedDirtied int64   `json:"shared_dirtied,omitempty"`
	SharedWritten int64   `json:"shared_written,omitempty"`
	LocalHit      int64   `json:"local_hit,omitempty"`
	LocalRead     int64   `json:"local_read,omitempty"`
	LocalDirtied  int64   `json:"local_dirtied,omitempty"`
	LocalWritten  int64   `json:"local_written,omitempty"`
	TempRead      int64   `json:"temp_read,omitempty"`
	TempWritten   int64   `json:"temp_written,omitempty"`
	IOReadTime    float64 `json:"io_read_time_ms,omitempty"`
	IOWriteTime   float64 `json:"io_write_time_ms,omitempty"`
}

// Trigger is one trigger's time in an EXPLAIN ANALYZE of a write.
type Trigger struct {
	Name     string  `json:"name"`
	Relation string  `json:"relation,omitempty"`
	Time     float64 `json:"time_ms"`
	Calls    float64 `json:"calls"`
}

// JIT is the just-in-time compilation summary of a plan.
type JIT struct {
	Functions int `json:"functions"`
	// Options says which JIT stages were on.
	Options map[string]bool `json:"options,omitempty"`
	// The timings are in milliseconds and present only with ANALYZE.
	GenerationTime   float64 `json:"generation_time_ms,omitempty"`
	InliningTime     float64 `json:"inlining_time_ms,omitempty"`
	OptimizationTime float64 `json:"optimization_time_ms,omitempty"`
	EmissionTime     float64 `json:"emission_time_ms,omitempty"`
	TotalTime        float64 `json:"total_time_ms,omitempty"`
}

// rawExplain is one element of the array EXPLAIN (FORMAT JSON) returns.
type rawExplain struct {
	Plan            *rawNode          `json:"Plan"`
	PlanningTime    *float64          `json:"Planning Time"`
	ExecutionTime   *float64          `json:"Execution Time"`
	Planning        *rawBuffers       `json:"Planning"`
	Settings        map[string]string `json:"Settings"`
	QueryIdentifier int64             `json:"Query Identifier"`
	Triggers        []struct {
		Name     string  `json:"Trigger Name"`
		Relation string  `json:"Relation"`
		Time     float64 `json:"Time"`
		Calls    float64 `json:"Calls"`
	} `json:"Triggers"`
	JIT *struct {
		Functions int             `json:"Functions"`
		Options   map[string]bool `json:"Options"`
		Timing    *struct {
			Generation   any     `json:"Generation"`
			Inlining     float64 `json:"Inlining"`
			Optimization float64 `json:"Optimization"`
			Emission     float64 `json:"Emission"`
			Total        float64 `json:"Total"`
		} `json:"Timing"`
	} `json:"JIT"`
}

type rawBuffers struct {
	SharedHit     int64 `json:"Shared Hit Blocks"`
	SharedRead    int64 `json:"Shared Read Blocks"`
	SharedDirtied int64 `json:"Shared Dirtied Blocks"`
	SharedWritten int64 `json:"Shared Written Blocks"`
	LocalHit      int64 `json:"Local Hit Blocks"`
	LocalRead     int64 `json:"Local Read Blocks"`
	LocalDirtied  int64 `json:"Local Dirtied Blocks"`
	LocalWritten  int64 `json:"Local Written Blocks"`
	TempRead      int64 `json:"Temp Read Blocks"`
	TempWritten   int64 `json:"Temp Written Blocks"`
	// PostgreSQL 13–16 name the shared I/O timings "I/O Read Time"; 17
	// renamed them "Shared I/O Read Time".
	IOReadTime        float64 `json:"I/O Read Time"`
	IOWriteTime       float64 `json:"I/O Write Time"`
	SharedIOReadTime  float64 `json:"Shared I/O Read Time"`
	SharedIOWriteTime float64 `json:"Shared I/O Write Time"`
}

func (b *rawBuffers) buffers() Buffers {
	if b == nil {
		return Buffers{}
	}
	return Buffers{
		SharedHit: b.SharedHit, SharedRead: b.SharedRead, SharedDirtied: b.SharedDirtied, SharedWritten: b.SharedWritten,
		LocalHit: b.LocalHit, LocalRead: b.LocalRead, LocalDirtied: b.LocalDirtied, LocalWritten: b.LocalWritten,
		TempRead: b.TempRead, TempWritten: b.TempWritten,
		IOReadTime: b.IOReadTime + b.SharedIOReadTime, IOWriteTime: b.IOWriteTime + b.SharedIOWriteTime,
	}
}

type rawNode struct {
	rawBuffers
	NodeType           string     `json:"Node Type"`
	ParentRelationship string     `json:"Parent Relationship"`
	SubplanName        string     `json:"Subplan Name"`
	Strategy           string     `json:"Strategy"`
	PartialMode        string     `json:"Partial Mode"`
	JoinType           string     `json:"Join Type"`
	Operation          string     `json:"Operation"`
	ScanDirection      string     `json:"Scan Direction"`
	ParallelAware      bool       `json:"Parallel Aware"`
	RelationName       string     `json:"Relation Name"`
	Schema             string     `json:"Schema"`
	Alias              string     `json:"Alias"`
	IndexName          string     `json:"Index Name"`
	CTEName            string     `json:"CTE Name"`
	FunctionName       string     `json:"Function Name"`
	StartupCost        float64    `json:"Startup Cost"`
	TotalCost          float64    `json:"Total Cost"`
	PlanRows           float64    `json:"Plan Rows"`
	PlanWidth          int        `json:"Plan Width"`
	ActualStartupTime  *float64   `json:"Actual Startup Time"`
	ActualTotalTime    *float64   `json:"Actual Total Time"`
	ActualRows         *float64   `json:"Actual Rows"`
	ActualLoops        *float64   `json:"Actual Loops"`
	Output             []string   `json:"Output"`
	Filter             string     `json:"Filter"`
	JoinFilter         string     `json:"Join Filter"`
	IndexCond          string     `json:"Index Cond"`
	RecheckCond        string     `json:"Recheck Cond"`
	HashCond           string     `json:"Hash Cond"`
	MergeCond          string     `json:"Merge Cond"`
	RowsRemovedFilter  float64    `json:"Rows Removed by Filter"`
	RowsRemovedJoin    float64    `json:"Rows Removed by Join Filter"`
	RowsRemovedRecheck float64    `json:"Rows Removed by Index Recheck"`
	HeapFetches        float64    `json:"Heap Fetches"`
	IndexSearches      float64    `json:"Index Searches"`
	ExactHeapBlocks    float64    `json:"Exact Heap Blocks"`
	LossyHeapBlocks    float64    `json:"Lossy Heap Blocks"`
	SortKey            []string   `json:"Sort Key"`
	PresortedKey       []string   `json:"Presorted Key"`
	SortMethod         string     `json:"Sort Method"`
	SortSpaceUsed      int64      `json:"Sort Space Used"`
	SortSpaceType      string     `json:"Sort Space Type"`
	GroupKey           []string   `json:"Group Key"`
	HashBuckets        int64      `json:"Hash Buckets"`
	OrigHashBuckets    int64      `json:"Original Hash Buckets"`
	HashBatches        int64      `json:"Hash Batches"`
	OrigHashBatches    int64      `json:"Original Hash Batches"`
	PeakMemoryUsage    int64      `json:"Peak Memory Usage"`
	HashAggBatches     int64      `json:"HashAgg Batches"`
	DiskUsage          int64      `json:"Disk Usage"`
	WorkersPlanned     int        `json:"Workers Planned"`
	WorkersLaunched    int        `json:"Workers Launched"`
	SubplansRemoved    float64    `json:"Subplans Removed"`
	Plans              []*rawNode `json:"Plans"`
}

// ParsePlan parses the output of EXPLAIN (FORMAT JSON): the one-element array
// the server returns, or the object inside it. It computes exclusive times
// and costs and keeps the input as Plan.Raw.
func ParsePlan(data []byte) (*Plan, error) {
	data = bytes.TrimSpace(data)
	var raw rawExplain
	switch {
	case len(data) > 0 && data[0] == '[':
		var arr []rawExplain
		if err := json.Unmarshal(data, &arr); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPlanFormat, err)
		}
		if len(arr) != 1 {
			return nil, fmt.Errorf("%w: %d plans in the array, want 1", ErrPlanFormat, len(arr))
		}
		raw = arr[0]
	case len(data) > 0 && data[0] == '{':
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPlanFormat, err)
		}
	default:
		return nil, fmt.Errorf("%w: expected a JSON array or object", ErrPlanFormat)
	}
	if raw.Plan == nil || raw.Plan.NodeType == "" {
		return nil, fmt.Errorf("%w: no \"Plan\" with a \"Node Type\"", ErrPlanFormat)
	}
	p := &Plan{
		QueryID:  raw.QueryIdentifier,
		Settings: raw.Settings,
		Raw:      append(json.RawMessage(nil), data...),
	}
	if raw.PlanningTime != nil {
		p.PlanningTimeMs = *raw.PlanningTime
	}
	if raw.ExecutionTime != nil {
		p.ExecutionTimeMs = *raw.ExecutionTime
	}
	if raw.Planning != nil {
		b := raw.Planning.buffers()
		p.Planning = &b
	}
	for _, t := range raw.Triggers {
		p.Triggers = append(p.Triggers, Trigger{Name: t.Name, Relation: t.Relation, Time: t.Time, Calls: t.Calls})
	}
	if raw.JIT != nil {
		p.JIT = &JIT{Functions: raw.JIT.Functions, Options: raw.JIT.Options}
		if t := raw.JIT.Timing; t != nil {
			// PostgreSQL 17 reports Generation as an object with Deform
			// and Total; earlier versions as a number.
			switch g := t.Generation.(type) {
			case float64:
				p.JIT.GenerationTime = g
			case map[string]any:
				if v, ok := g["Total"].(float64); ok {
					p.JIT.GenerationTime = v
				}
			}
			p.JIT.InliningTime, p.JIT.OptimizationTime = t.Inlining, t.Optimization
			p.JIT.EmissionTime, p.JIT.TotalTime = t.Emission, t.Total
		}
	}
	p.Root = p.build(raw.Plan, nil, 0)
	p.Analyzed = p.Root.Executed
	p.computeTimes(p.Root, 1)
	return p, nil
}

func (p *Plan) build(r *rawNode, parent *Node, depth int) *Node {
	n := &Node{
		ID: len(p.nodes), Depth: depth, Parent: parent,
		NodeType: r.NodeType, ParentRelationship: r.ParentRelationship, SubplanName: r.SubplanName,
		Strategy: r.Strategy, PartialMode: r.PartialMode, JoinType: r.JoinType, Operation: r.Operation,
		ScanDirection: r.ScanDirection, ParallelAware: r.ParallelAware,
		RelationName: r.RelationName, Schema: r.Schema, Alias: r.Alias, IndexName: r.IndexName,
		CTEName: r.CTEName, FunctionName: r.FunctionName,
		StartupCost: r.StartupCost, TotalCost: r.TotalCost, PlanRows: r.PlanRows, PlanWidth: r.PlanWidth,
		Output: r.Output, Filter: r.Filter, JoinFilter: r.JoinFilter, IndexCond: r.IndexCond,
		RecheckCond: r.RecheckCond, HashCond: r.HashCond, MergeCond: r.MergeCond,
		RowsRemovedByFilter: r.RowsRemovedFilter, RowsRemovedByJoinFilter: r.RowsRemovedJoin,
		RowsRemovedByIndexRecheck: r.RowsRemovedRecheck, HeapFetches: r.HeapFetches, IndexSearches: r.IndexSearches,
		ExactHeapBlocks: r.ExactHeapBlocks, LossyHeapBlocks: r.LossyHeapBlocks,
		SortKey: r.SortKey, PresortedKey: r.PresortedKey, SortMethod: r.SortMethod,
		SortSpaceUsed: r.SortSpaceUsed, SortSpaceType: r.SortSpaceType, GroupKey: r.GroupKey,
		HashBuckets: r.HashBuckets, OriginalHashBuckets: r.OrigHashBuckets,
		HashBatches: r.HashBatches, OriginalHashBatches: r.OrigHashBatches,
		PeakMemoryUsage: r.PeakMemoryUsage, HashAggBatches: r.HashAggBatches, DiskUsage: r.DiskUsage,
		WorkersPlanned: r.WorkersPlanned, WorkersLaunched: r.WorkersLaunched, SubplansRemoved: r.SubplansRemoved,
		Buffers: r.rawBuffers.buffers(),
	}
	if r.ActualLoops != nil {
		n.Executed = true
		n.ActualLoops = *r.ActualLoops
		if r.ActualStartupTime != nil {
			n.ActualStartupTime = *r.ActualStartupTime
		}
		if r.ActualTotalTime != nil {
			n.ActualTotalTime = *r.ActualTotalTime
		}
		if r.ActualRows != nil {
			n.ActualRows = *r.ActualRows
		}
	}
	p.nodes = append(p.nodes, n)
	for _, c := range r.Plans {
		n.Children = append(n.Children, p.build(c, n, depth+1))
	}
	return n
}

// computeTimes fills inclusive and self times and self costs. procs is the
// number of processes sharing the node's loops: 1, or the workers launched
// plus the leader below a Gather.
func (p *Plan) computeTimes(n *Node, procs float64) {
	childProcs := procs
	if n.NodeType == "Gather" || n.NodeType == "Gather Merge" {
		childProcs = float64(n.WorkersLaunched + 1)
	}
	if n.Executed {
		n.InclusiveTime = n.ActualTotalTime * n.ActualLoops / procs
	}
	var childTime, childCost float64
	for _, c := range n.Children {
		p.computeTimes(c, childProcs)
		childTime += c.InclusiveTime
		childCost += c.TotalCost
	}
	n.SelfTime = max(n.InclusiveTime-childTime, 0)
	n.SelfCost = max(n.TotalCost-childCost, 0)
}

// Nodes returns the plan's nodes in depth-first order (ID order).
func (p *Plan) Nodes() []*Node { return p.nodes }

// Walk calls fn for every node in depth-first order; when fn returns false
// the node's children are skipped.
func (p *Plan) Walk(fn func(n *Node) bool) {
	if p == nil || p.Root == nil {
		return
	}
	p.Root.Walk(fn)
}

// Walk calls fn for n and its descendants in depth-first order; when fn
// returns false the node's children are skipped.
func (n *Node) Walk(fn func(n *Node) bool) {
	if !fn(n) {
		return
	}
	for _, c := range n.Children {
		c.Walk(fn)
	}
}

// TotalRows is the rows the node produced over all its loops when the plan
// was analyzed, else the planner's estimate for one loop.
func (n *Node) TotalRows() float64 {
	if n.Executed {
		return n.ActualRows * n.ActualLoops
	}
	return n.PlanRows
}

// RowsRemoved is the rows the node's Filter removed over all its loops.
func (n *Node) RowsRemoved() float64 { return n.RowsRemovedByFilter * n.ActualLoops }

// Table is the node's relation as schema.name when the schema is known
// (VERBOSE), else the bare name; empty for nodes that scan no relation.
func (n *Node) Table() string {
	if n.RelationName == "" {
		return ""
	}
	if n.Schema != "" {
		return n.Schema + "." + n.RelationName
	}
	return n.RelationName
}

// Label describes the node in one line the way EXPLAIN's text format does:
// "Index Scan using ix on t", "Hash Left Join", "Parallel Seq Scan on t".
func (n *Node) Label() string {
	name := n.NodeType
	switch {
	case n.NodeType == "Aggregate" && n.Strategy == "Hashed":
		name = "HashAggregate"
	case n.NodeType == "Aggregate" && n.Strategy == "Sorted":
		name = "GroupAggregate"
	case n.NodeType == "Aggregate" && n.Strategy == "Mixed":
		name = "MixedAggregate"
	case n.JoinType != "" && n.JoinType != "Inner" && strings.HasSuffix(n.NodeType, " Join"):
		name = strings.TrimSuffix(n.NodeType, " Join") + " " + n.JoinType + " Join"
	case n.JoinType != "" && n.JoinType != "Inner" && n.NodeType == "Nested Loop":
		name = n.NodeType + " " + n.JoinType + " Join"
	}
	if n.ParallelAware {
		name = "Parallel " + name
	}
	if n.ScanDirection == "Backward" {
		name += " Backward"
	}
	if n.IndexName != "" {
		name += " using " + n.IndexName
	}
	switch {
	case n.RelationName != "":
		name += " on " + n.RelationName
		if n.Alias != "" && n.Alias != n.RelationName {
			name += " " + n.Alias
		}
	case n.CTEName != "":
		name += " on " + n.CTEName
	case n.FunctionName != "":
		name += " on " + n.FunctionName
	}
	return name
}

// Shape is the plan's structure in one line: node types with their parent
// relationship (Outer:, Inner:, InitPlan:), join type, strategy, scan
// direction, relation and index, nested as the tree is, e.g.
// "Aggregate[Plain](Outer:Nested Loop[Inner](Outer:Seq Scan on a, Inner:Index Scan using b_pkey on b))". It leaves out every number (costs, rows, times,
// workers), so the same plan gives the same shape on every run and a plan
// change (another index, another join method or order) gives another one.
func (p *Plan) Shape() string {
	var b strings.Builder
	var write func(n *Node)
	write = func(n *Node) {
		if n.ParentRelationship != "" {
			b.WriteString(n.ParentRelationship + ":")
		}
		b.WriteString(n.NodeType)
		var attrs []string
		for _, a := range []string{n.JoinType, n.Strategy, n.Operation} {
			if a != "" {
				attrs = append(attrs, a)
			}
		}
		if n.ScanDirection == "Backward" {
			attrs = append(attrs, "Backward")
		}
		if n.ParallelAware {
			attrs = append(attrs, "Parallel")
		}
		if len(attrs) > 0 {
			b.WriteString("[" + strings.Join(attrs, ",") + "]")
		}
		if n.IndexName != "" {
			b.WriteString(" using " + n.IndexName)
		}
		if n.RelationName != "" {
			b.WriteString(" on " + n.RelationName)
		}
		if len(n.Children) > 0 {
			b.WriteString("(")
			for i, c := range n.Children {
				if i > 0 {
					b.WriteString(", ")
				}
				write(c)
			}
			b.WriteString(")")
		}
	}
	if p != nil && p.Root != nil {
		write(p.Root)
	}
	return b.String()
}

// ShapeHash is the first 16 hex digits of the SHA-256 of Shape: a short
// plan identity for comparing plans across runs.
func (p *Plan) ShapeHash() string {
	sum := sha256.Sum256([]byte(p.Shape()))
	return hex.EncodeToString(sum[:8])
}

// IndexesUsed lists, sorted and once each, the indexes the plan reads
// (Index Scan, Index Only Scan, Bitmap Index Scan).
func (p *Plan) IndexesUsed() []string {
	return p.collect(func(n *Node) string { return n.IndexName })
}

// Relations lists, sorted and once each, the relations the plan scans, as
// schema.name when EXPLAIN gave the schema (VERBOSE).
func (p *Plan) Relations() []string {
	return p.collect(func(n *Node) string { return n.Table() })
}

func (p *Plan) collect(key func(*Node) string) []string {
	seen := map[string]bool{}
	var out []string
	p.Walk(func(n *Node) bool {
		if k := key(n); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
		return true
	})
	sort.Strings(out)
	return out
}

// HasNode reports whether any node has the given type.
func (p *Plan) HasNode(nodeType string) bool {
	found := false
	p.Walk(func(n *Node) bool {
		if n.NodeType == nodeType {
			found = true
		}
		return !found
	})
	return found
}

// TotalTime is the plan's measured time in milliseconds: the execution time
// when analyzed, else zero.
func (p *Plan) TotalTime() float64 { return p.ExecutionTimeMs }

// Hot returns the share (0–1) of the plan's work done in the node itself:
// its self time over the root's inclusive time when analyzed, else its
// self cost over the sum of all self costs (a Limit's total cost is less
// than its input's, so the root's cost is no measure of the whole).
func (p *Plan) Hot(n *Node) float64 {
	var share float64
	if p.Analyzed {
		if p.Root.InclusiveTime <= 0 {
			return 0
		}
		share = n.SelfTime / p.Root.InclusiveTime
	} else {
		if p.selfCostSum == 0 {
			for _, m := range p.nodes {
				p.selfCostSum += m.SelfCost
			}
		}
		if p.selfCostSum <= 0 {
			return 0
		}
		share = n.SelfCost / p.selfCostSum
	}
	return min(share, 1)
}
