package render

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
)

// ChecklistItem is one line of a Checklist: what it is, a detail shown
// under it while the cursor is on it, and whether it is ticked.
type ChecklistItem struct {
	Label  string
	Detail string
	On     bool
}

// Checklist is a list a person ticks on a terminal: ↑/↓ (or k/j) move,
// space ticks, a ticks all, n none, enter keeps what is ticked, q, Esc or
// Ctrl-C leave without keeping anything. Run draws it in place (redrawn
// on each key, in a raw-mode terminal) and returns when it is done.
type Checklist struct {
	Title string
	Items []ChecklistItem
	// Color styles it (lipgloss); Width cuts its lines (0: DefaultWidth).
	Color bool
	Width int

	cursor int
	hint   string
	drawn  int
}

// Key is one key press a Checklist understands.
type Key int

// The keys.
const (
	KeyOther Key = iota
	KeyUp
	KeyDown
	KeyToggle
	KeyAll
	KeyNone
	KeyEnter
	KeyCancel
)

// ParseKeys reads the keys in what a terminal sent: arrow keys as their
// escape sequences, a lone Esc as cancel.
func ParseKeys(b []byte) []Key {
	var keys []Key
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == 0x1b && i+2 < len(b) && (b[i+1] == '[' || b[i+1] == 'O'):
			switch b[i+2] {
			case 'A':
				keys = append(keys, KeyUp)
			case 'B':
				keys = append(keys, KeyDown)
			default:
				keys = append(keys, KeyOther)
			}
			i += 2
		case c == 0x1b:
			keys = append(keys, KeyCancel)
		case c == 'k':
			keys = append(keys, KeyUp)
		case c == 'j':
			keys = append(keys, KeyDown)
		case c == ' ' || c == 'x':
			keys = append(keys, KeyToggle)
		case c == 'a':
			keys = append(keys, KeyAll)
		case c == 'n':
			keys = append(keys, KeyNone)
		case c == '\r' || c == '\n':
			keys = append(keys, KeyEnter)
		case c == 'q' || c == 0x03 || c == 0x04:
			keys = append(keys, KeyCancel)
		default:
			keys = append(keys, KeyOther)
		}
	}
	return keys
}

// Press applies a key; done says the list is finished, kept that enter
// kept the ticked items (enter with none ticked asks again instead).
func (c *Checklist) Press(k Key) (done, kept bool) {
	c.hint = ""
	switch k {
	case KeyUp:
		if c.cursor > 0 {
			c.cursor--
		}
	case KeyDown:
		if c.cursor < len(c.Items)-1 {
			c.cursor++
		}
	case KeyToggle:
		if len(c.Items) > 0 {
			c.Items[c.cursor].On = !c.Items[c.cursor].On
		}
	case KeyAll, KeyNone:
		for i := range c.Items {
			c.Items[i].On = k == KeyAll
		}
	case KeyEnter:
		if len(c.Chosen()) == 0 {
			c.hint = "nothing is ticked: tick at least one, or q to leave"
			return false, false
		}
		return true, true
	case KeyCancel:
		return true, false
	}
	return false, false
}

// Chosen are the ticked items' positions, from 0.
func (c *Checklist) Chosen() []int {
	var out []int
	for i, it := range c.Items {
		if it.On {
			out = append(out, i)
		}
	}
	return out
}

// checklistStyles style the list's parts when Color is on.
var checklistStyles = struct {
	title, on, off, cursor, detail, help, hint lipgloss.Style
}{
	title:  lipgloss.NewStyle().Bold(true),
	on:     lipgloss.NewStyle().Foreground(lipgloss.Color("2")).Bold(true),
	off:    lipgloss.NewStyle().Faint(true),
	cursor: lipgloss.NewStyle().Bold(true).Reverse(true),
	detail: lipgloss.NewStyle().Faint(true),
	help:   lipgloss.NewStyle().Faint(true),
	hint:   lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
}

// View is the list as it is drawn: the title, one line per item (the
// cursor's marked, its detail under it), how many are ticked and the keys.
// done draws it as it stays on the screen once finished: no cursor.
func (c *Checklist) View(done bool) string {
	width := c.Width
	if width <= 0 {
		width = DefaultWidth
	}
	style := func(s lipgloss.Style, text string) string {
		if !c.Color {
			return text
		}
		return s.Renderer(colorRenderer).Render(text)
	}
	cut := func(s string, w int) string {
		w = max(w, 8)
		r := []rune(strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " "))
		if !strings.ContainsAny(s, "\n\t") {
			r = []rune(s)
		}
		if len(r) <= w {
			return string(r)
		}
		return string(r[:w-1]) + "…"
	}
	var b strings.Builder
	b.WriteString(style(checklistStyles.title, cut(c.Title, width)) + "\n")
	for i, it := range c.Items {
		box := style(checklistStyles.off, "[ ]")
		if it.On {
			box = style(checklistStyles.on, "[x]")
		}
		marker, label := "  ", cut(it.Label, width-6)
		if i == c.cursor && !done {
			marker, label = "> ", style(checklistStyles.cursor, label)
		}
		b.WriteString(marker + box + " " + label + "\n")
		if i == c.cursor && !done && it.Detail != "" {
			b.WriteString("      " + style(checklistStyles.detail, cut(it.Detail, width-6)) + "\n")
		}
	}
	status := fmt.Sprintf("%d of %d ticked", len(c.Chosen()), len(c.Items))
	if !done {
		status += " · ↑/↓ move · space tick · a all · n none · enter keep the ticked · q leave"
	}
	b.WriteString(style(checklistStyles.help, cut(status, width)) + "\n")
	if c.hint != "" && !done {
		b.WriteString(style(checklistStyles.hint, cut(c.hint, width)) + "\n")
	}
	return b.String()
}

// draw writes the view over the one drawn before, with the line endings a
// raw-mode terminal needs.
func (c *Checklist) draw(out io.Writer, done bool) error {
	var b strings.Builder
	if c.drawn > 0 {
		fmt.Fprintf(&b, "\r\x1b[%dA\x1b[J", c.drawn)
	}
	view := c.View(done)
	c.drawn = strings.Count(view, "\n")
	b.WriteString(strings.ReplaceAll(view, "\n", "\r\n"))
	_, err := io.WriteString(out, b.String())
	return err
}

// Run draws the list on out and reads keys from in until enter keeps the
// ticked items (kept true) or the person leaves (kept false); ctx ending
// stops it too, with ctx's error. in should be a terminal in raw mode
// (RawMode), so that each key arrives as it is pressed.
func (c *Checklist) Run(ctx context.Context, in io.Reader, out io.Writer) (kept bool, err error) {
	io.WriteString(out, "\x1b[?25l")
	defer io.WriteString(out, "\x1b[?25h")
	if err := c.draw(out, false); err != nil {
		return false, err
	}
	chunks := make(chan []byte)
	errs := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				select {
				case chunks <- append([]byte(nil), buf[:n]...):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case err := <-errs:
			return false, fmt.Errorf("read the keys: %w", err)
		case b := <-chunks:
			for _, k := range ParseKeys(b) {
				done, kept := c.Press(k)
				if done {
					return kept, c.draw(out, true)
				}
			}
			if err := c.draw(out, false); err != nil {
				return false, err
			}
		}
	}
}

// RawMode puts the terminal f in raw mode, so that keys arrive as they
// are pressed and are not echoed, and returns what puts it back.
func RawMode(f *os.File) (restore func(), err error) {
	st, err := term.MakeRaw(f.Fd())
	if err != nil {
		return nil, err
	}
	return func() { term.Restore(f.Fd(), st) }, nil
}
