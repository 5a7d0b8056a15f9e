package render

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressWidth is the bar's width in cells; with the counts beside it the
// line stays inside 80 columns.
const progressWidth = 30

// progressEvery caps redraws, so a fast loop does not flood the terminal.
const progressEvery = 100 * time.Millisecond

// Progress draws a one-line bar on a terminal; off a terminal (or quiet) it
// draws nothing, so piped output stays stable.
type Progress struct {
	mu    sync.Mutex
	out   io.Writer
	on    bool
	last  time.Time
	start time.Time
	drawn bool
}

// NewProgress returns a bar on w, drawn only when w is a terminal and quiet
// is false.
func NewProgress(w io.Writer, quiet bool) *Progress {
	return &Progress{out: w, on: !quiet && IsTerminal(w), start: time.Now()}
}

// Update redraws the bar for done of total, with a label such as the table
// being loaded.
func (p *Progress) Update(label string, done, total int64) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < progressEvery && done < total {
		return
	}
	p.last = now
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	if frac > 1 {
		frac = 1
	}
	n := int(frac * progressWidth)
	rate := float64(done) / now.Sub(p.start).Seconds()
	fmt.Fprintf(p.out, "\r\x1b[K[%s%s] %3.0f%% %s/%s %s/s %s", strings.Repeat("█", n), strings.Repeat("░", progressWidth-n),
		frac*100, Count(done), Count(total), Count(int64(rate)), label)
	p.drawn = true
}

// Done clears the bar's line.
func (p *Progress) Done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.out, "\r\x1b[K")
	}
}

// Count writes n short: 950, 12.3k, 4.56M.
func Count(n int64) string {
	switch {
	case n >= 1_000_000_000:
		return fmt.Sprintf("%.2fG", float64(n)/1e9)
	case n >= 1_000_000:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
