package dataset

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Fixed vocabularies the generator draws from. Every string here is plain
// ASCII without quotes, backslashes or control characters, so it can be put
// inside JSON text without escaping.

// corpusWords make up the filler text of descriptions, prompts and
// templates.
var corpusWords = strings.Fields(`
the agent reviews code and writes tests for the service before deployment
analyze the workflow output and summarize findings for the project team
generate documentation from the repository including api endpoints models and
migrations refactor the module to reduce coupling and improve readability
check the pull request for security issues such as injection and leaked secrets
translate the requirements into user stories with acceptance criteria and
estimates plan the release schedule and notify stakeholders about risks data
pipeline customer support ticket classification sentiment priority latency
database index query plan cache invalidation background job retry queue
kubernetes deployment rollout monitoring alert dashboard metric trace log
prompt context window token budget model temperature response streaming
`)

// corpusSize is the length of the filler text; slices of it give every text
// column its content, so it is longer than the longest slice taken.
const corpusSize = 16 << 10

// corpus is corpusSize bytes of words, the same for every seed: which slice
// a row takes is what varies.
var corpus = func() string {
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for sb.Len() < corpusSize {
		sb.WriteString(corpusWords[r.IntN(len(corpusWords))])
		sb.WriteByte(' ')
	}
	return sb.String()
}()

// text returns a slice of the corpus with a length in [lo, hi].
func text(r *rand.Rand, lo, hi int) string {
	n := lo + r.IntN(hi-lo+1)
	off := r.IntN(len(corpus) - n)
	return corpus[off : off+n]
}

var firstNames = []string{
	"Hisham", "Amal", "Omar", "Sara", "Yusuf", "Lina", "Karim", "Maya", "Ali", "Nour",
	"James", "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Zara",
}

var lastNames = []string{
	"Haddad", "Khalil", "Nasser", "Saleh", "Aziz", "Farouk", "Mansour", "Rahman",
	"Smith", "Garcia", "Chen", "Müller", "Rossi", "Kim", "Novak", "Silva",
}

// lowerNames holds the lower-case ASCII form of a name, for usernames and
// e-mail addresses.
var lowerNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range append(append([]string{}, firstNames...), lastNames...) {
		m[n] = strings.ToLower(strings.ReplaceAll(n, "ü", "u"))
	}
	return m
}()

var emailDomains = []string{"example.com", "hishamos.dev", "mail.example.org", "corp.example.net"}

var adjectives = []string{
	"Fast", "Smart", "Secure", "Lean", "Bright", "Quiet", "Bold", "Deep", "Swift", "Clear",
}

var nouns = []string{
	"Pipeline", "Portal", "Insight", "Gateway", "Assistant", "Engine", "Tracker", "Hub", "Studio", "Bridge",
}

// categoryDefs are HishamOS's command categories: a handful, as the UI shows
// them as tabs.
var categoryDefs = []struct{ name, slug, icon string }{
	{"Code Generation", "code-generation", "code"},
	{"Code Review", "code-review", "search"},
	{"Documentation", "documentation", "book"},
	{"Testing", "testing", "check-circle"},
	{"Debugging", "debugging", "bug"},
	{"Refactoring", "refactoring", "tool"},
	{"DevOps", "devops", "server"},
	{"Data Analysis", "data-analysis", "bar-chart"},
	{"Research", "research", "compass"},
	{"Writing", "writing", "edit"},
	{"Security", "security", "shield"},
	{"Project Management", "project-management", "clipboard"},
}

var agentTypes = []string{"coding", "research", "writing", "analysis", "review", "devops", "support"}

var capabilities = []string{
	"code_generation", "code_review", "testing", "documentation", "web_search",
	"data_analysis", "summarization", "translation", "planning", "deployment",
}

var tagWords = []string{
	"python", "go", "javascript", "sql", "api", "backend", "frontend", "ci", "docs",
	"security", "performance", "ml", "ops", "review",
}

// Platforms and their models. The weights are the share of agents that
// prefer each platform: most teams standardise on one or two hosted
// providers and run a few local models.
var (
	platforms       = []string{"openai", "anthropic", "google", "local", "mistral"}
	platformWeights = newChoice(45, 30, 12, 8, 5)
	platformModels  = [][]string{
		{"gpt-4o", "gpt-4o-mini", "gpt-4.1"},
		{"claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus"},
		{"gemini-1.5-pro", "gemini-1.5-flash"},
		{"llama-3.1-70b", "qwen2.5-coder-32b"},
		{"mistral-large", "codestral"},
	}
	// platformMicroCentsPerToken is roughly what a token costs on each
	// platform, in 1/10000 of a cent, for the cost columns.
	platformMicroCentsPerToken = []int64{50, 60, 35, 5, 20}
)

// Execution statuses (agent and workflow executions): most runs complete,
// failures are the main other outcome, and only the newest few are still
// in flight. Weights are per mille.
var (
	execStatuses = []string{"completed", "failed", "cancelled", "running", "pending"}
	execWeights  = newChoice(850, 90, 25, 20, 15)
)

const (
	statusCompleted = iota
	statusFailed
	statusCancelled
	statusRunning
	statusPending
)

var errorMessages = []string{
	"rate limit exceeded: retry after 20s",
	"context length exceeded: 131072 tokens",
	"upstream timeout after 120s",
	"invalid tool call arguments: missing field 'path'",
	"provider returned 503 service unavailable",
}

// Agent statuses: agents are configured once and left active.
var (
	agentStatuses      = []string{"active", "inactive", "maintenance", "deprecated"}
	agentStatusWeights = newChoice(85, 8, 4, 3)
)

var (
	projectStatuses      = []string{"active", "planning", "on_hold", "completed", "archived"}
	projectStatusWeights = newChoice(55, 15, 5, 15, 10)
)

var (
	workflowStatuses      = []string{"active", "draft", "paused", "archived"}
	workflowStatusWeights = newChoice(70, 15, 5, 10)
)

var versions = []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"}

var triggers = []string{"manual", "schedule", "api", "webhook"}

var temperatures = []float64{0, 0.2, 0.3, 0.5, 0.7, 1}

var maxTokens = []int32{1024, 2048, 4096, 8192}

// stepNames name the steps of workflow definitions.
var stepNames = []string{
	"Plan", "Research", "Draft", "Generate Code", "Review", "Test", "Fix Issues",
	"Document", "Summarize", "Deploy", "Notify",
}

// maxWorkflowSteps is the longest an execution gets: 2×StepsPerExecution−1.
const maxWorkflowSteps = 2*StepsPerExecution - 1

// stepIDs are "step_1" … "step_N", precomputed for the hot path.
var stepIDs = func() []string {
	s := make([]string, maxWorkflowSteps+1)
	for i := range s {
		s[i] = "step_" + strconv.Itoa(i)
	}
	return s
}()

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
