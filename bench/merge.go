package bench

import (
	"math"
	"slices"
)

// Merge joins the parts of one measurement, taken at different times, into
// one run, as if it had been made at once. The demo measures the tables as
// they are both before and after each index set is measured, so that a
// change in the machine's load between the runs falls on both sides of a
// comparison alike (a load that grows steadily cancels out), and merges the
// parts of each side.
//
// The parts must be runs of one workload, statements in the same order.
// A statement's samples are joined in the parts' order and its quantiles
// computed again; its calls, errors and rows are added up; buffers per call
// are averaged over the calls, where every part has them from one source;
// server time is pooled from each part's calls, mean and deviation (the
// sums pg_stat_statements gives are additive, so the pooled mean and
// variance are those of all the calls), where every part has it from one
// source counting planning alike. The plan hash is the parts' where they
// agree, else a hash of their distinct plans; the plans, indexes used and
// relations are the union. The environment, the settings and the start are
// the first part's; Settings.Iterations and DurationMs are the parts' sum.
// Merge of one part is that part; of none, nil.
func Merge(parts ...*Run) *Run {
	if len(parts) == 0 {
		return nil
	}
	if len(parts) == 1 {
		return parts[0]
	}
	out := *parts[0]
	out.Statements = make([]StatementRun, len(parts[0].Statements))
	var calls int
	out.ElapsedMs, out.Settings.Iterations, out.Settings.DurationMs = 0, 0, 0
	for _, p := range parts {
		out.ElapsedMs += p.ElapsedMs
		out.Settings.Iterations += p.Settings.Iterations
		out.Settings.DurationMs += p.Settings.DurationMs
		calls += p.calls()
		if !p.Complete && out.Complete {
			out.Complete, out.Stopped = false, p.Stopped
		}
	}
	if out.ElapsedMs > 0 {
		out.CallsPerSecond = float64(calls) / (out.ElapsedMs / 1000)
	}
	for i, first := range parts[0].Statements {
		sr := first
		sr.Samples = nil
		sr.Calls, sr.Errors, sr.FirstError = 0, 0, ""
		var rows, bufSum float64
		bufOK, hashes := true, []string{}
		var srv []*ServerTime
		for _, p := range parts {
			s := p.Statement(first.Name)
			if s == nil {
				continue
			}
			sr.Samples = append(sr.Samples, s.Samples...)
			sr.Calls += s.Calls
			sr.Errors += s.Errors
			if sr.FirstError == "" {
				sr.FirstError = s.FirstError
			}
			rows += s.RowsPerCall * float64(s.Calls)
			if s.BuffersPerCall == nil || s.BuffersSource != first.BuffersSource {
				bufOK = false
			} else {
				bufSum += *s.BuffersPerCall * float64(s.Calls)
			}
			if s.BuffersNote != "" && sr.BuffersNote == "" {
				sr.BuffersNote = s.BuffersNote
			}
			srv = append(srv, s.Server)
			if !slices.Contains(hashes, s.PlanHash) {
				hashes = append(hashes, s.PlanHash)
			}
			sr.Plans = union(slices.Clone(sr.Plans), s.Plans)
			sr.IndexesUsed = union(slices.Clone(sr.IndexesUsed), s.IndexesUsed)
			sr.Relations = union(slices.Clone(sr.Relations), s.Relations)
		}
		sr.RowsPerCall = 0
		if sr.Calls > 0 {
			sr.RowsPerCall = rows / float64(sr.Calls)
		}
		sr.BuffersPerCall = nil
		if bufOK && sr.Calls > 0 {
			v := bufSum / float64(sr.Calls)
			sr.BuffersPerCall = &v
		}
		sr.Server = poolServer(srv)
		if sr.Server == nil && first.Server != nil {
			sr.ServerNote = "the parts of the run give server time from different sources, or only some of them"
		}
		slices.Sort(hashes)
		sr.PlanHash = planHash(hashes)
		summarize(&sr)
		out.Statements[i] = sr
	}
	return &out
}

// poolServer pools server times measured over separate calls into the
// server time of all of them: nil unless every one is there, from one
// source, counting planning alike.
func poolServer(parts []*ServerTime) *ServerTime {
	if len(parts) == 0 || parts[0] == nil {
		return nil
	}
	first := parts[0]
	for _, p := range parts {
		if p == nil || p.Source != first.Source || p.Planning != first.Planning {
			return nil
		}
	}
	pool := func(mean, sd func(*ServerTime) float64) (float64, float64) {
		var n, sum, sq float64
		for _, p := range parts {
			k := float64(p.Calls)
			n += k
			sum += k * mean(p)
			sq += (k-1)*sd(p)*sd(p) + k*mean(p)*mean(p)
		}
		if n == 0 {
			return 0, 0
		}
		m := sum / n
		if n < 2 {
			return m, 0
		}
		return m, math.Sqrt(max(0, (sq-sum*sum/n)/(n-1)))
	}
	st := &ServerTime{Planning: first.Planning, Source: first.Source}
	for _, p := range parts {
		st.Calls += p.Calls
	}
	st.ExecMeanMs, st.ExecStddevMs = pool(func(p *ServerTime) float64 { return p.ExecMeanMs }, func(p *ServerTime) float64 { return p.ExecStddevMs })
	st.PlanMeanMs, st.PlanStddevMs = pool(func(p *ServerTime) float64 { return p.PlanMeanMs }, func(p *ServerTime) float64 { return p.PlanStddevMs })
	st.MeanMs, st.StddevMs = st.ExecMeanMs+st.PlanMeanMs, st.ExecStddevMs+st.PlanStddevMs
	return st
}
