package dataset

import (
	"math"
	"math/rand/v2"
	"time"
)

// Randomness is per row: row i of a table draws from a PCG seeded with a hash
// of (seed, table, i). A row is then a pure function of its index, so a
// child table can recompute a parent row's fields (a workflow step needs its
// execution's status and times) without keeping them in memory, and the rows
// do not depend on the order they are generated in.

// splitmix64 is SplitMix64's finalizer, a cheap bijective mixer that turns
// neighbouring inputs into unrelated 64-bit values.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Salts keep the random streams of different tables and setup steps apart.
const (
	saltUsers uint64 = iota + 1
	saltProjects
	saltCategories
	saltAgents
	saltTemplates
	saltAgentExecutions
	saltWorkflows
	saltWorkflowExecutions
	saltWorkflowSteps
	saltStepCounts
	saltUserRanks
	saltAgentRanks
	saltWorkflowRanks
	saltTemplateRanks
	saltCategoryRanks
	saltAgentSetup
	saltWorkflowSetup
	saltReference
)

// rowRand hands out a generator reseeded for one row at a time.
type rowRand struct {
	key uint64
	pcg rand.PCG
	r   *rand.Rand
}

func newRowRand(seed int64, salt uint64) *rowRand {
	rr := &rowRand{key: splitmix64(uint64(seed) ^ splitmix64(salt))}
	rr.r = rand.New(&rr.pcg)
	return rr
}

// at returns the generator for row i; it is reset by the next call.
func (rr *rowRand) at(i int64) *rand.Rand {
	rr.pcg.Seed(rr.key, splitmix64(uint64(i)^rr.key))
	return rr.r
}

// setupRand returns a generator for one-off setup work (rank permutations,
// per-agent attributes).
func setupRand(seed int64, salt uint64) *rand.Rand {
	k := splitmix64(uint64(seed) ^ splitmix64(salt))
	return rand.New(rand.NewPCG(k, splitmix64(k)))
}

// choice picks an index with fixed integer weights.
type choice struct {
	cum   []uint32
	total uint32
}

func newChoice(weights ...uint32) choice {
	c := choice{cum: make([]uint32, len(weights))}
	for i, w := range weights {
		c.total += w
		c.cum[i] = c.total
	}
	return c
}

func (c choice) pick(r *rand.Rand) int {
	x := r.Uint32N(c.total)
	for i, v := range c.cum {
		if x < v {
			return i
		}
	}
	return len(c.cum) - 1
}

// zipf draws ids 1..n with probability proportional to 1/rank^s, where ranks
// are a seeded permutation of the ids: the hot users are not simply the
// first ones.
type zipf struct {
	cum  []uint64 // cumulative weights scaled to 2^53, by rank
	ids  []int64  // ids[rank] is the id holding that rank
	rank []int32  // rank[id-1] is the rank of id
	prob []float64
}

// zipfScale is the fixed-point total of a zipf table: 53 bits, the precision
// of the float64 weights it is built from.
const zipfScale = 1 << 53

func newZipf(n int64, s float64, perm *rand.Rand) *zipf {
	z := &zipf{
		cum:  make([]uint64, n),
		ids:  make([]int64, n),
		rank: make([]int32, n),
		prob: make([]float64, n),
	}
	var total float64
	for k := range n {
		z.prob[k] = 1 / math.Pow(float64(k+1), s)
		total += z.prob[k]
	}
	var sum float64
	for k := range n {
		z.prob[k] /= total
		sum += z.prob[k]
		z.cum[k] = uint64(math.Min(sum, 1) * zipfScale)
	}
	z.cum[n-1] = zipfScale
	for k, p := range perm.Perm(int(n)) {
		z.ids[k] = int64(p) + 1
		z.rank[p] = int32(k)
	}
	return z
}

// pick returns an id.
func (z *zipf) pick(r *rand.Rand) int64 {
	x := r.Uint64() >> 11
	lo, hi := 0, len(z.cum)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if z.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return z.ids[lo]
}

// share returns the fraction of draws that land on id.
func (z *zipf) share(id int64) float64 {
	return z.prob[z.rank[id-1]]
}

// between returns a uniform int64 in [lo, hi].
func between(r *rand.Rand, lo, hi int64) int64 {
	return lo + r.Int64N(hi-lo+1)
}

// Time model: all timestamps are microseconds since the Unix epoch,
// relative to a reference time fixed by the seed.

const (
	day = int64(24 * time.Hour / time.Microsecond)
	sec = int64(time.Second / time.Microsecond)
)

// referenceBase is the earliest reference time; the seed moves it forward
// by up to referenceSpread, so that data from different seeds does not
// share every timestamp.
var referenceBase = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

const referenceSpread = 365 * 24 * time.Hour

// ReferenceTime is the "now" of the data generated from seed: no timestamp
// in it is later. It is fixed by the seed, not the clock, so that the same
// seed gives the same rows on any day. Queries that look at a recent window
// ("executions of the last 7 days") should measure it from the data's own
// latest timestamp (max(created_at)), not from now(): the data does not age
// with the calendar.
func ReferenceTime(seed int64) time.Time {
	hours := splitmix64(uint64(seed)^splitmix64(saltReference)) % uint64(referenceSpread/time.Hour)
	return referenceBase.Add(time.Duration(hours) * time.Hour)
}

// activityWindow is how far back execution history goes: a year of use.
const activityWindow = 365 * day

// setupWindow is the year before the activity window in which users,
// projects, agents, templates and workflows were created, so that every
// execution is later than what it points at.
const setupWindow = 365 * day

// recencySkew shapes activity over the window: with row i of n placed at
// age window×(1−i/n)^recencySkew, the density of rows grows toward the
// reference time (a product whose use keeps growing), and ids follow time as
// in a table filled by inserts, which keeps the planner's correlation
// statistics realistic.
const recencySkew = 2

// spreadTime places row i of n inside [end-window, end], later rows later,
// with sub-slot jitter from r.
func spreadTime(r *rand.Rand, i, n, end, window int64, skew float64) int64 {
	x := (float64(i) + r.Float64()) / float64(n)
	return end - int64(float64(window)*math.Pow(1-x, skew))
}
