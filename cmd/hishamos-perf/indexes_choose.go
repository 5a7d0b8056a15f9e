package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hishamos/hishamos-perf/cmd/hishamos-perf/internal/report"
	"github.com/hishamos/hishamos-perf/indexes"
	"github.com/hishamos/hishamos-perf/internal/render"
)

// checklistTTY is the terminal a checklist is drawn on: keys from in,
// the list on out.
type checklistTTY struct{ in, out *os.File }

// checklistTerminal is the terminal --interactive draws on (standard
// input for the keys, standard error for the list, so that standard output
// keeps only the result), nil without --interactive; an error when either
// is not a terminal.
func (a *app) checklistTerminal(interactive bool) (*checklistTTY, error) {
	if !interactive {
		return nil, nil
	}
	in, okIn := a.stdin.(*os.File)
	out, okOut := a.stderr.(*os.File)
	if !okIn || !okOut || !render.IsTerminal(in) || !render.IsTerminal(out) {
		return nil, fmt.Errorf("--%s needs a terminal on standard input and standard error; in a script, choose with indexes plan --%s or --%s", flagInteractive, flagOnly, flagExclude)
	}
	return &checklistTTY{in: in, out: out}, nil
}

// chooseProposals shows the proposals as a checklist and keeps the ticked
// ones; leaving it (q, Esc, Ctrl-C) writes nothing and is an interruption
// (exit code 130).
func (a *app) chooseProposals(ctx context.Context, tty *checklistTTY, res *indexes.Result) (*indexes.Result, error) {
	if len(res.Proposals) == 0 {
		a.say("indexes propose: nothing proposed, nothing to choose")
		return res, nil
	}
	cl := report.ProposalChecklist(res)
	r := render.New(tty.out, render.FormatTable, a.noColor, a.getenv)
	cl.Color, cl.Width = r.Color, r.Width
	restore, err := render.RawMode(tty.in)
	if err != nil {
		return nil, fmt.Errorf("indexes propose: --%s: %w", flagInteractive, err)
	}
	kept, err := cl.Run(ctx, tty.in, tty.out)
	restore()
	if err != nil {
		return nil, err
	}
	if !kept {
		return nil, fmt.Errorf("indexes propose: left the checklist: nothing saved: %w", context.Canceled)
	}
	nums := make([]int, 0, len(cl.Items))
	for _, i := range cl.Chosen() {
		nums = append(nums, i+1)
	}
	a.say("indexes propose: kept %d of the %d proposals (%s)", len(nums), len(res.Proposals), joinInts(nums))
	return res.Keep(nums), nil
}
