package dataset

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// Skew parameters. Each is the exponent s of a zipf-like draw (weight of the
// k-th most popular item ∝ 1/k^s): s near 1 gives the long-tail usage seen
// in multi-user tools, where a few accounts and agents carry most traffic.
const (
	// userZipfS: with s=1.1 the top 1% of users own 40% of the executions
	// at small scale, 60% at medium and 70% at large: the shape of a team
	// tool with a few power users and CI accounts.
	userZipfS = 1.1
	// agentZipfS: a few general-purpose agents take most invocations.
	agentZipfS = 1.0
	// workflowZipfS: a few scheduled workflows run far more often than the
	// rest.
	workflowZipfS = 1.0
	// categoryZipfS: templates pile up in the coding categories, but every
	// category has some.
	categoryZipfS = 0.7
	// templateUsageZipfS shapes usage_count: popular templates are used
	// orders of magnitude more than the tail.
	templateUsageZipfS = 1.2
)

// Shares, in per mille unless named otherwise.
const (
	// workflowOwnerRunsPerMille: executions are mostly started by the
	// workflow's owner; the rest by teammates.
	workflowOwnerRunsPerMille = 700
	// templateActivePerMille: templates are rarely retired.
	templateActivePerMille = 900
	// templateRecommendedAgentPerMille: most templates name the agent to run
	// them with.
	templateRecommendedAgentPerMille = 700
	// workflowProjectPerMille: most workflows belong to a project.
	workflowProjectPerMille = 800
	// stepAgentPerMille: most workflow steps call an agent; the others are
	// plain transforms or notifications.
	stepAgentPerMille = 800
	// preferredPlatformPerMille: an execution runs on its agent's preferred
	// platform unless it fell back to another one.
	preferredPlatformPerMille = 850
	// userActivePerMille, userLoggedInPerMille, userStaffPerMille: Django's
	// auth_user flags; nearly all accounts are active and have logged in.
	userActivePerMille   = 950
	userLoggedInPerMille = 950
	userStaffPerMille    = 20
	// templateUsageTop is the usage_count of the most used template.
	templateUsageTop = 250_000
)

// world is the state shared by all tables of one load: the seed, the scale,
// the reference time and the few per-parent attributes that children copy.
// It holds O(parents) memory, never a row of the big tables.
type world struct {
	seed  int64
	scale Scale
	ref   int64 // unix microseconds

	users, agents, workflows, categories, templates *zipf

	agentPlatform []uint8 // by agent id-1
	agentModel    []uint8 // index into platformModels[agentPlatform]

	workflowOwner []int64 // by workflow id-1
	stepAgent     []int64 // [(workflow id-1)*maxWorkflowSteps + step-1], 0 = none
	stepName      []uint8 // same layout, index into stepNames
}

func newWorld(seed int64, s Scale) *world {
	w := &world{seed: seed, scale: s, ref: ReferenceTime(seed).UnixMicro()}
	w.users = newZipf(s.Users, userZipfS, setupRand(seed, saltUserRanks))
	w.agents = newZipf(s.Agents, agentZipfS, setupRand(seed, saltAgentRanks))
	w.workflows = newZipf(s.Workflows, workflowZipfS, setupRand(seed, saltWorkflowRanks))
	w.categories = newZipf(s.Categories, categoryZipfS, setupRand(seed, saltCategoryRanks))
	if s.Templates > 0 {
		w.templates = newZipf(s.Templates, templateUsageZipfS, setupRand(seed, saltTemplateRanks))
	}

	r := setupRand(seed, saltAgentSetup)
	w.agentPlatform = make([]uint8, s.Agents)
	w.agentModel = make([]uint8, s.Agents)
	for a := range s.Agents {
		p := platformWeights.pick(r)
		w.agentPlatform[a] = uint8(p)
		w.agentModel[a] = uint8(r.IntN(len(platformModels[p])))
	}

	r = setupRand(seed, saltWorkflowSetup)
	w.workflowOwner = make([]int64, s.Workflows)
	w.stepAgent = make([]int64, s.Workflows*maxWorkflowSteps)
	w.stepName = make([]uint8, s.Workflows*maxWorkflowSteps)
	for f := range s.Workflows {
		w.workflowOwner[f] = w.users.pick(r)
		for j := range int64(maxWorkflowSteps) {
			if r.IntN(1000) < stepAgentPerMille {
				w.stepAgent[f*maxWorkflowSteps+j] = w.agents.pick(r)
			}
			w.stepName[f*maxWorkflowSteps+j] = uint8(r.IntN(len(stepNames)))
		}
	}
	return w
}

// setupTime places parent row i of n in the year before the activity
// window, in id order.
func (w *world) setupTime(r *rand.Rand, i, n int64) int64 {
	return spreadTime(r, i, n, w.ref-activityWindow, setupWindow, 1)
}

// updatedAt is a time between created and the reference time.
func (w *world) updatedAt(r *rand.Rand, created int64) int64 {
	return created + r.Int64N(w.ref-created)
}

// rowGen appends the next row of a table in binary COPY form; ok is false
// when the table is complete.
type rowGen interface {
	appendRow(b []byte) (_ []byte, ok bool)
}

// indexedGen generates rows 0..n-1 with a function of the row index.
type indexedGen struct {
	i, n int64
	rr   *rowRand
	row  func(b []byte, r *rand.Rand, i int64) []byte
}

func (g *indexedGen) appendRow(b []byte) ([]byte, bool) {
	if g.i >= g.n {
		return b, false
	}
	b = g.row(b, g.rr.at(g.i), g.i)
	g.i++
	return b, true
}

func (w *world) indexed(salt uint64, n int64, row func([]byte, *rand.Rand, int64) []byte) rowGen {
	return &indexedGen{n: n, rr: newRowRand(w.seed, salt), row: row}
}

// Widths of the jsonb payloads of the big tables, in bytes of text. The
// prompt is the widest column of the widest table, wide enough that
// fetching it (SELECT *) costs visibly more than the few columns a list
// view needs; the others are kept short because every byte of the big
// tables is paid for at each load.
const (
	agentPromptMin, agentPromptMax       = 80, 280
	agentOutputMin, agentOutputMax       = 20, 80
	workflowInputMin, workflowInputMax   = 40, 160
	workflowOutputMin, workflowOutputMax = 20, 60
	stepInputMin, stepInputMax           = 10, 40
)

// JSON helpers: the strings they write come from the vocabularies, which
// need no escaping.

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONPick writes a JSON array of n distinct-ish words from list.
func appendJSONPick(b []byte, r *rand.Rand, list []string, n int) []byte {
	b = append(b, '[')
	start := r.IntN(len(list))
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, list[(start+k*3)%len(list)])
	}
	return append(b, ']')
}

func pickString(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// auth_user
var userColumns = []string{"id", "password", "last_login", "is_superuser", "username",
	"first_name", "last_name", "email", "is_staff", "is_active", "date_joined"}

func (w *world) userRow(b []byte, r *rand.Rand, i int64) []byte {
	id := i + 1
	b = appendRowStart(b, len(userColumns))
	b = appendInt4(b, int32(id))
	// Django's default hasher: pbkdf2_sha256$<iterations>$<salt>$<hash>.
	b, at := beginVarField(b)
	b = append(b, "pbkdf2_sha256$600000$"...)
	for k := range 22 + 1 + 44 {
		if k == 22 {
			b = append(b, '$')
			continue
		}
		b = append(b, base64Alphabet[r.IntN(64)])
	}
	b = endVarField(b, at)
	joined := w.setupTime(r, i, w.scale.Users)
	if r.IntN(1000) < userLoggedInPerMille {
		b = appendTimestamptz(b, w.ref-int64(float64(60*day)*math.Pow(r.Float64(), 3)))
	} else {
		b = appendNull(b)
	}
	b = appendBool(b, id == 1)
	first, last := pickString(r, firstNames), pickString(r, lastNames)
	b, at = beginVarField(b)
	b = append(b, lowerNames[first]...)
	b = append(b, '.')
	b = append(b, lowerNames[last]...)
	b = strconv.AppendInt(b, id, 10)
	user := b[at+4:]
	b = endVarField(b, at)
	b = appendText(b, first)
	b = appendText(b, last)
	b, at2 := beginVarField(b)
	b = append(b, user...)
	b = append(b, '@')
	b = append(b, pickString(r, emailDomains)...)
	b = endVarField(b, at2)
	b = appendBool(b, id == 1 || r.IntN(1000) < userStaffPerMille)
	b = appendBool(b, id == 1 || r.IntN(1000) < userActivePerMille)
	return appendTimestamptz(b, joined)
}

// projects_project
var projectColumns = []string{"id", "name", "description", "status", "owner_id", "created_at", "updated_at"}

func (w *world) projectRow(b []byte, r *rand.Rand, i int64) []byte {
	b = appendRowStart(b, len(projectColumns))
	b = appendInt8(b, i+1)
	b, at := beginVarField(b)
	b = append(b, pickString(r, adjectives)...)
	b = append(b, ' ')
	b = append(b, pickString(r, nouns)...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, i+1, 10)
	b = endVarField(b, at)
	b = appendText(b, text(r, 40, 240))
	b = appendText(b, projectStatuses[projectStatusWeights.pick(r)])
	b = appendInt4(b, int32(w.users.pick(r)))
	created := w.setupTime(r, i, w.scale.Projects)
	b = appendTimestamptz(b, created)
	return appendTimestamptz(b, w.updatedAt(r, created))
}

// commands_commandcategory
var categoryColumns = []string{"id", "name", "slug", "description", "icon", "order", "created_at", "updated_at"}

func (w *world) categoryRow(b []byte, r *rand.Rand, i int64) []byte {
	def := categoryDefs[i%int64(len(categoryDefs))]
	round := i / int64(len(categoryDefs)) // only for scales with more categories than names
	b = appendRowStart(b, len(categoryColumns))
	b = appendInt8(b, i+1)
	b, at := beginVarField(b)
	b = append(b, def.name...)
	if round > 0 {
		b = append(b, ' ')
		b = strconv.AppendInt(b, round+1, 10)
	}
	b = endVarField(b, at)
	b, at = beginVarField(b)
	b = append(b, def.slug...)
	if round > 0 {
		b = append(b, '-')
		b = strconv.AppendInt(b, round+1, 10)
	}
	b = endVarField(b, at)
	b = appendText(b, text(r, 40, 160))
	b = appendText(b, def.icon)
	b = appendInt4(b, int32(i+1))
	created := w.setupTime(r, i, w.scale.Categories)
	b = appendTimestamptz(b, created)
	return appendTimestamptz(b, w.updatedAt(r, created))
}

// agents_agent
var agentColumns = []string{"id", "agent_id", "name", "description", "agent_type", "capabilities",
	"system_prompt", "preferred_platform", "fallback_platforms", "model_name", "temperature",
	"max_tokens", "status", "total_invocations", "total_tokens_used", "total_cost", "success_rate",
	"average_response_time", "last_invoked_at", "created_at", "updated_at"}

func (w *world) agentRow(b []byte, r *rand.Rand, i int64) []byte {
	id := i + 1
	typ := pickString(r, agentTypes)
	platform := int(w.agentPlatform[i])
	b = appendRowStart(b, len(agentColumns))
	b = appendInt8(b, id)
	b, at := beginVarField(b)
	b = append(b, typ...)
	b = append(b, "-agent-"...)
	b = strconv.AppendInt(b, id, 10)
	b = endVarField(b, at)
	b, at = beginVarField(b)
	b = append(b, pickString(r, adjectives)...)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, " agent "...)
	b = strconv.AppendInt(b, id, 10)
	b = endVarField(b, at)
	b = appendText(b, text(r, 60, 300))
	b = appendText(b, typ)
	b, at = beginJSONB(b)
	b = appendJSONPick(b, r, capabilities, 2+r.IntN(4))
	b = endVarField(b, at)
	b, at = beginVarField(b)
	b = append(b, "You are a "...)
	b = append(b, typ...)
	b = append(b, " agent for HishamOS. "...)
	b = append(b, text(r, 400, 1200)...)
	b = endVarField(b, at)
	b = appendText(b, platforms[platform])
	b, at = beginJSONB(b)
	b = append(b, '[')
	b = appendJSONString(b, platforms[(platform+1)%len(platforms)])
	if r.IntN(2) == 0 {
		b = append(b, ',')
		b = appendJSONString(b, platforms[(platform+2)%len(platforms)])
	}
	b = append(b, ']')
	b = endVarField(b, at)
	b = appendText(b, platformModels[platform][w.agentModel[i]])
	b = appendFloat8(b, temperatures[r.IntN(len(temperatures))])
	b = appendInt4(b, maxTokens[r.IntN(len(maxTokens))])
	b = appendText(b, agentStatuses[agentStatusWeights.pick(r)])
	// The counters agree with the executions generated for the agent.
	invocations := int64(float64(w.scale.AgentExecutions) * w.agents.share(id) * (0.9 + 0.2*r.Float64()))
	tokens := invocations * between(r, 800, 2500)
	b = appendInt4(b, int32(invocations))
	b = appendInt8(b, tokens)
	b = appendNumeric(b, tokens*platformMicroCentsPerToken[platform]/100, 4)
	b = appendFloat8(b, 0.7+0.29*r.Float64())
	b = appendFloat8(b, 0.5+20*r.Float64()*r.Float64())
	if invocations > 0 {
		b = appendTimestamptz(b, w.ref-r.Int64N(7*day))
	} else {
		b = appendNull(b)
	}
	created := w.setupTime(r, i, w.scale.Agents)
	b = appendTimestamptz(b, created)
	return appendTimestamptz(b, w.updatedAt(r, created))
}

// commands_commandtemplate
var templateColumns = []string{"id", "name", "slug", "description", "category_id", "template",
	"parameters", "tags", "recommended_agent_id", "required_capabilities", "estimated_cost",
	"avg_execution_time", "usage_count", "success_rate", "is_active", "version", "created_at", "updated_at"}

func (w *world) templateRow(b []byte, r *rand.Rand, i int64) []byte {
	id := i + 1
	cat := w.categories.pick(r)
	def := categoryDefs[(cat-1)%int64(len(categoryDefs))]
	verb, noun := pickString(r, adjectives), pickString(r, nouns)
	b = appendRowStart(b, len(templateColumns))
	b = appendInt8(b, id)
	b, at := beginVarField(b)
	b = append(b, verb...)
	b = append(b, ' ')
	b = append(b, noun...)
	b = append(b, ' ')
	b = append(b, def.name...)
	b = endVarField(b, at)
	b, at = beginVarField(b)
	b = append(b, def.slug...)
	b = append(b, '-')
	b = strconv.AppendInt(b, id, 10)
	b = endVarField(b, at)
	b = appendText(b, text(r, 40, 240))
	b = appendInt8(b, cat)
	b, at = beginVarField(b)
	b = append(b, "## Task\n{{task}}\n\n## Context\nLanguage: {{language}}\nRepository: {{repository}}\n\n## Instructions\n"...)
	b = append(b, text(r, 200, 700)...)
	b = append(b, "\n\n## Output\nReturn {{output_format}}.\n"...)
	b = endVarField(b, at)
	b = appendJSONB(b, `[{"name":"task","type":"string","required":true},{"name":"language","type":"string","required":false,"default":"python"},{"name":"repository","type":"string","required":false},{"name":"output_format","type":"string","required":false,"default":"markdown"}]`)
	b, at = beginJSONB(b)
	b = appendJSONPick(b, r, tagWords, 1+r.IntN(4))
	b = endVarField(b, at)
	if r.IntN(1000) < templateRecommendedAgentPerMille {
		b = appendInt8(b, w.agents.pick(r))
	} else {
		b = appendNull(b)
	}
	b, at = beginJSONB(b)
	b = appendJSONPick(b, r, capabilities, r.IntN(4))
	b = endVarField(b, at)
	b = appendNumeric(b, between(r, 10, 5000), 4)
	b = appendFloat8(b, 1+60*r.Float64()*r.Float64())
	b = appendInt4(b, int32(templateUsageTop*w.templates.share(id)/w.templates.prob[0]*(0.8+0.4*r.Float64())))
	b = appendNumeric(b, between(r, 6000, 9999), 2)
	b = appendBool(b, r.IntN(1000) < templateActivePerMille)
	b = appendText(b, pickString(r, versions))
	created := w.setupTime(r, i, w.scale.Templates)
	b = appendTimestamptz(b, created)
	return appendTimestamptz(b, w.updatedAt(r, created))
}

// agents_agentexecution
var agentExecutionColumns = []string{"id", "agent_id", "user_id", "input_data", "output_data",
	"status", "platform_used", "model_used", "tokens_used", "cost", "execution_time",
	"error_message", "started_at", "completed_at", "created_at"}

// agentExecutionLatest keeps the newest execution far enough before the
// reference time that its completion is not later.
const agentExecutionLatest = 5 * 60 * sec

func (w *world) agentExecutionRow(b []byte, r *rand.Rand, i int64) []byte {
	agent := w.agents.pick(r)
	status := execWeights.pick(r)
	platform, model := int(w.agentPlatform[agent-1]), int(w.agentModel[agent-1])
	if r.IntN(1000) >= preferredPlatformPerMille {
		platform = (platform + 1 + r.IntN(len(platforms)-1)) % len(platforms)
		model = r.IntN(len(platformModels[platform]))
	}
	created := spreadTime(r, i, w.scale.AgentExecutions, w.ref-agentExecutionLatest, activityWindow, recencySkew)

	b = appendRowStart(b, len(agentExecutionColumns))
	b = appendInt8(b, i+1)
	b = appendInt8(b, agent)
	b = appendInt4(b, int32(w.users.pick(r)))
	// Few keys and one long string: jsonb parsing costs per token, so this
	// shape gives the column its width at little cost to the load.
	b, at := beginJSONB(b)
	b = append(b, `{"prompt":"`...)
	b = append(b, text(r, agentPromptMin, agentPromptMax)...)
	b = append(b, `","source":`...)
	b = appendJSONString(b, triggers[r.IntN(len(triggers))])
	b = append(b, `}`...)
	b = endVarField(b, at)

	tokens := int64(0)
	if status != statusPending {
		tokens = int64(200 * math.Exp(r.Float64()*math.Log(40))) // 200 to 8,000, log-uniform
	}
	if status == statusCompleted {
		b, at = beginJSONB(b)
		b = append(b, `{"content":"`...)
		b = append(b, text(r, agentOutputMin, agentOutputMax)...)
		b = append(b, `","tokens":`...)
		b = strconv.AppendInt(b, tokens, 10)
		b = append(b, `}`...)
		b = endVarField(b, at)
	} else {
		b = appendNull(b)
	}
	b = appendText(b, execStatuses[status])
	b = appendText(b, platforms[platform])
	b = appendText(b, platformModels[platform][model])
	b = appendInt4(b, int32(tokens))
	b = appendNumeric(b, tokens*platformMicroCentsPerToken[platform]/100, 4)

	started, completed := created+r.Int64N(2*sec), int64(noTime)
	var duration int64
	switch status {
	case statusCompleted, statusFailed, statusCancelled:
		duration = int64(0.3 * float64(sec) * math.Exp(r.Float64()*math.Log(400))) // 0.3 s to 2 min
		completed = started + duration
		b = appendFloat8(b, float64(duration)/float64(sec))
	default:
		b = appendNull(b)
	}
	if status == statusFailed {
		b = appendText(b, pickString(r, errorMessages))
	} else {
		b = appendText(b, "")
	}
	if status == statusPending {
		started = noTime
	}
	b = appendNullableTimestamptz(b, started)
	b = appendNullableTimestamptz(b, completed)
	return appendTimestamptz(b, created)
}

// workflows_workflow
var workflowColumns = []string{"id", "name", "slug", "description", "definition", "version",
	"status", "is_template", "user_id", "project_id", "created_at", "updated_at"}

func (w *world) workflowRow(b []byte, r *rand.Rand, i int64) []byte {
	id := i + 1
	adj, noun := pickString(r, adjectives), pickString(r, nouns)
	b = appendRowStart(b, len(workflowColumns))
	b = appendInt8(b, id)
	b, at := beginVarField(b)
	b = append(b, adj...)
	b = append(b, ' ')
	b = append(b, noun...)
	b = append(b, " workflow"...)
	b = endVarField(b, at)
	b, at = beginVarField(b)
	b = append(b, lowerASCII(adj)...)
	b = append(b, '-')
	b = append(b, lowerASCII(noun)...)
	b = append(b, '-')
	b = strconv.AppendInt(b, id, 10)
	b = endVarField(b, at)
	b = appendText(b, text(r, 40, 240))
	b, at = beginJSONB(b)
	b = append(b, `{"trigger":`...)
	b = appendJSONString(b, pickString(r, triggers))
	b = append(b, `,"steps":[`...)
	for j := range int64(maxWorkflowSteps) {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, stepIDs[j+1])
		b = append(b, `,"name":`...)
		b = appendJSONString(b, stepNames[w.stepName[i*maxWorkflowSteps+j]])
		b = append(b, `,"agent_id":`...)
		if a := w.stepAgent[i*maxWorkflowSteps+j]; a != 0 {
			b = strconv.AppendInt(b, a, 10)
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"timeout":300}`...)
	}
	b = append(b, `]}`...)
	b = endVarField(b, at)
	b = appendText(b, pickString(r, versions))
	b = appendText(b, workflowStatuses[workflowStatusWeights.pick(r)])
	b = appendBool(b, r.IntN(10) == 0)
	b = appendInt4(b, int32(w.workflowOwner[i]))
	if w.scale.Projects > 0 && r.IntN(1000) < workflowProjectPerMille {
		b = appendInt8(b, 1+r.Int64N(w.scale.Projects))
	} else {
		b = appendNull(b)
	}
	created := w.setupTime(r, i, w.scale.Workflows)
	b = appendTimestamptz(b, created)
	return appendTimestamptz(b, w.updatedAt(r, created))
}

func lowerASCII(s string) string {
	for k := 0; k < len(s); k++ {
		if c := s[k]; c >= 'A' && c <= 'Z' {
			bs := []byte(s)
			for j := k; j < len(bs); j++ {
				if c := bs[j]; c >= 'A' && c <= 'Z' {
					bs[j] = c + 'a' - 'A'
				}
			}
			return string(bs)
		}
	}
	return s
}

// wfExec is what a workflow step needs to know about its execution.
type wfExec struct {
	workflow, user              int64
	status                      int
	created, started, completed int64
	duration                    int64
	steps                       int
}

// workflowExecutionLatest keeps the newest workflow execution far enough
// before the reference time that its completion is not later.
const workflowExecutionLatest = 31 * 60 * sec

// wfExecCore draws the fields of workflow execution i that its steps copy;
// the row generator goes on drawing from r for the rest.
func (w *world) wfExecCore(r *rand.Rand, counts *rowRand, i int64) wfExec {
	e := wfExec{workflow: w.workflows.pick(r), status: execWeights.pick(r)}
	if r.IntN(1000) < workflowOwnerRunsPerMille {
		e.user = w.workflowOwner[e.workflow-1]
	} else {
		e.user = w.users.pick(r)
	}
	e.created = spreadTime(r, i, w.scale.WorkflowExecutions, w.ref-workflowExecutionLatest, activityWindow, recencySkew)
	e.started = e.created + r.Int64N(2*sec)
	e.duration = int64(5 * float64(sec) * math.Exp(r.Float64()*math.Log(360))) // 5 s to 30 min
	e.completed = noTime
	switch e.status {
	case statusCompleted, statusFailed, statusCancelled:
		e.completed = e.started + e.duration
	}
	e.steps = w.stepCount(counts, i)
	return e
}

// stepCount is the number of steps of workflow execution i. Executions are
// paired; a pair shares 2×StepsPerExecution steps, split at random, so the
// total is exact while each execution has 1 to 2×StepsPerExecution−1.
func (w *world) stepCount(counts *rowRand, i int64) int {
	n := w.scale.WorkflowExecutions
	if n%2 == 1 && i == n-1 {
		return StepsPerExecution
	}
	d := int(between(counts.at(i/2), -(StepsPerExecution - 1), StepsPerExecution-1))
	if i%2 == 0 {
		return StepsPerExecution + d
	}
	return StepsPerExecution - d
}

// workflows_workflowexecution
var workflowExecutionColumns = []string{"id", "workflow_id", "user_id", "status", "input_data",
	"output_data", "context", "current_step", "error_message", "started_at", "completed_at", "created_at"}

// workflowExecutions generates workflows_workflowexecution.
func (w *world) workflowExecutions() rowGen {
	counts := newRowRand(w.seed, saltStepCounts)
	return w.indexed(saltWorkflowExecutions, w.scale.WorkflowExecutions, func(b []byte, r *rand.Rand, i int64) []byte {
		return w.workflowExecutionRow(b, r, counts, i)
	})
}

func (w *world) workflowExecutionRow(b []byte, r *rand.Rand, counts *rowRand, i int64) []byte {
	e := w.wfExecCore(r, counts, i)
	b = appendRowStart(b, len(workflowExecutionColumns))
	b = appendInt8(b, i+1)
	b = appendInt8(b, e.workflow)
	b = appendInt4(b, int32(e.user))
	b = appendText(b, execStatuses[e.status])
	b, at := beginJSONB(b)
	b = append(b, `{"trigger":`...)
	b = appendJSONString(b, pickString(r, triggers))
	b = append(b, `,"text":"`...)
	b = append(b, text(r, workflowInputMin, workflowInputMax)...)
	b = append(b, `"}`...)
	b = endVarField(b, at)
	if e.status == statusCompleted {
		b, at = beginJSONB(b)
		b = append(b, `{"summary":"`...)
		b = append(b, text(r, workflowOutputMin, workflowOutputMax)...)
		b = append(b, `"}`...)
		b = endVarField(b, at)
	} else {
		b = appendNull(b)
	}
	b, at = beginJSONB(b)
	b = append(b, `{"run":`...)
	b = strconv.AppendInt(b, i+1, 10)
	b = append(b, `,"env":"production"}`...)
	b = endVarField(b, at)
	if e.status == statusPending {
		b = appendText(b, "")
	} else {
		b = appendText(b, stepIDs[e.steps])
	}
	if e.status == statusFailed {
		b = appendText(b, pickString(r, errorMessages))
	} else {
		b = appendText(b, "")
	}
	b = appendTimestamptz(b, e.started)
	b = appendNullableTimestamptz(b, e.completed)
	return appendTimestamptz(b, e.created)
}

// workflows_workflowstep
var workflowStepColumns = []string{"id", "execution_id", "step_id", "step_name", "step_order",
	"status", "agent_id", "input_data", "output_data", "error_message", "started_at",
	"completed_at", "created_at"}

// stepGen walks the workflow executions and writes the steps of each.
type stepGen struct {
	w      *world
	execRR *rowRand // the executions' own generator, to recompute them
	counts *rowRand
	rr     *rowRand
	exec   int64 // index of the current execution
	e      wfExec
	step   int   // steps of e written so far
	id     int64 // last step id written
}

func (w *world) stepGen() rowGen {
	return &stepGen{
		w: w, exec: -1,
		execRR: newRowRand(w.seed, saltWorkflowExecutions),
		counts: newRowRand(w.seed, saltStepCounts),
		rr:     newRowRand(w.seed, saltWorkflowSteps),
	}
}

func (g *stepGen) appendRow(b []byte) ([]byte, bool) {
	for g.exec < 0 || g.step >= g.e.steps {
		g.exec++
		if g.exec >= g.w.scale.WorkflowExecutions {
			return b, false
		}
		g.e = g.w.wfExecCore(g.execRR.at(g.exec), g.counts, g.exec)
		g.step = 0
	}
	g.step++
	g.id++
	e, j, k := &g.e, g.step, g.e.steps
	r := g.rr.at(g.id)

	status := statusCompleted
	if j == k {
		status = e.status
	}
	if e.status == statusPending {
		status = statusPending
	}
	slot := e.duration / int64(k)
	start, end := e.started+slot*int64(j-1), e.started+slot*int64(j)-r.Int64N(slot/10+1)
	created := start
	switch status {
	case statusPending:
		start, end, created = noTime, noTime, e.created
	case statusRunning:
		end = noTime
	}
	def := (e.workflow-1)*maxWorkflowSteps + int64(j-1)

	b = appendRowStart(b, len(workflowStepColumns))
	b = appendInt8(b, g.id)
	b = appendInt8(b, g.exec+1)
	b = appendText(b, stepIDs[j])
	b = appendText(b, stepNames[g.w.stepName[def]])
	b = appendInt4(b, int32(j))
	b = appendText(b, execStatuses[status])
	b = appendNullableInt8(b, g.w.stepAgent[def])
	b, at := beginJSONB(b)
	b = append(b, `{"step":`...)
	b = appendJSONString(b, stepIDs[j])
	b = append(b, `,"text":"`...)
	b = append(b, text(r, stepInputMin, stepInputMax)...)
	b = append(b, `"}`...)
	b = endVarField(b, at)
	// Only the last step of a completed run keeps an output: the result the
	// execution reports; intermediate outputs live in its context.
	if status == statusCompleted && j == k {
		b, at = beginJSONB(b)
		b = append(b, `{"tokens":`...)
		b = strconv.AppendInt(b, between(r, 100, 4000), 10)
		b = append(b, `}`...)
		b = endVarField(b, at)
	} else {
		b = appendNull(b)
	}
	if status == statusFailed {
		b = appendText(b, pickString(r, errorMessages))
	} else {
		b = appendText(b, "")
	}
	b = appendNullableTimestamptz(b, start)
	b = appendNullableTimestamptz(b, end)
	return appendTimestamptz(b, created), true
}
