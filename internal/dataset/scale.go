package dataset

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownScale is returned by ParseScale for a name that is not one of
// ScaleNames.
var ErrUnknownScale = errors.New("unknown scale (valid scales: small, medium, large)")

// Scale is how many rows a load writes to each HishamOS table.
//
// WorkflowSteps must equal StepsPerExecution × WorkflowExecutions: steps
// are generated per execution, one to a few each.
type Scale struct {
	// Name is the scale's name as ParseScale takes it.
	Name               string `json:"name"`
	Users              int64  `json:"users"`
	Projects           int64  `json:"projects"`
	Categories         int64  `json:"categories"`
	Agents             int64  `json:"agents"`
	Templates          int64  `json:"templates"`
	AgentExecutions    int64  `json:"agent_executions"`
	Workflows          int64  `json:"workflows"`
	WorkflowExecutions int64  `json:"workflow_executions"`
	WorkflowSteps      int64  `json:"workflow_steps"`
}

// StepsPerExecution is the mean number of workflow steps per workflow
// execution. HishamOS workflows chain a handful of agent calls; the count of
// each execution varies from 1 to 2×StepsPerExecution−1.
const StepsPerExecution = 5

// The three built-in scales. Most rows go to the three execution tables, as
// in a HishamOS database that has been in use for a year; the lookup tables
// (users, agents, templates, workflows) grow far more slowly.
var scales = []Scale{
	{
		// small loads in well under a second: every test package seeds it.
		Name: "small", Users: 500, Projects: 1_000, Categories: 12, Agents: 50,
		Templates: 500, AgentExecutions: 24_000, Workflows: 300,
		WorkflowExecutions: 9_000, WorkflowSteps: 9_000 * StepsPerExecution,
	},
	{
		// medium is the smallest scale where plans look like production
		// ones: the execution tables outgrow shared_buffers' default slice.
		Name: "medium", Users: 5_000, Projects: 10_000, Categories: 12, Agents: 200,
		Templates: 2_000, AgentExecutions: 300_000, Workflows: 2_000,
		WorkflowExecutions: 120_000, WorkflowSteps: 120_000 * StepsPerExecution,
	},
	{
		// large is for index and bench work that needs disk-bound plans.
		Name: "large", Users: 50_000, Projects: 100_000, Categories: 12, Agents: 1_000,
		Templates: 10_000, AgentExecutions: 3_000_000, Workflows: 10_000,
		WorkflowExecutions: 1_200_000, WorkflowSteps: 1_200_000 * StepsPerExecution,
	},
}

// ScaleNames lists the names ParseScale accepts, smallest first.
func ScaleNames() []string {
	names := make([]string, len(scales))
	for i, s := range scales {
		names[i] = s.Name
	}
	return names
}

// ParseScale returns the built-in scale called name (small, medium or
// large; case does not matter).
func ParseScale(name string) (Scale, error) {
	for _, s := range scales {
		if strings.EqualFold(strings.TrimSpace(name), s.Name) {
			return s, nil
		}
	}
	return Scale{}, fmt.Errorf("dataset: %q: %w", name, ErrUnknownScale)
}

// Rows returns the scale's row count for table, or 0 for a table that is not
// one of Tables.
func (s Scale) Rows(table string) int64 {
	for _, t := range tableSpecs {
		if t.name == table {
			return t.rows(s)
		}
	}
	return 0
}

// Total returns the number of rows in all tables.
func (s Scale) Total() int64 {
	var n int64
	for _, t := range tableSpecs {
		n += t.rows(s)
	}
	return n
}

// validate rejects a scale the generator cannot honour: every foreign key
// needs at least one parent row to point at.
func (s Scale) validate() error {
	if s.Users < 1 || s.Categories < 1 || s.Agents < 1 || s.Workflows < 1 {
		return fmt.Errorf("dataset: scale %q needs at least one user, category, agent and workflow", s.Name)
	}
	for _, t := range tableSpecs {
		if t.rows(s) < 0 {
			return fmt.Errorf("dataset: scale %q: negative row count for %s", s.Name, t.name)
		}
	}
	if s.WorkflowSteps != s.WorkflowExecutions*StepsPerExecution {
		return fmt.Errorf("dataset: scale %q: workflow_steps must be %d × workflow_executions (%d), not %d",
			s.Name, StepsPerExecution, s.WorkflowExecutions*StepsPerExecution, s.WorkflowSteps)
	}
	return nil
}
