package render

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestChecklistKeys: the keys a terminal sends (arrows as escape
// sequences, vi keys, space, enter) move, tick and finish the list; enter
// with nothing ticked asks again instead of keeping nothing.
func TestChecklistKeys(t *testing.T) {
	c := &Checklist{Title: "t", Items: []ChecklistItem{{Label: "a", On: true}, {Label: "b", On: true}, {Label: "c", On: true}}}
	press := func(s string) (done, kept bool) {
		for _, k := range ParseKeys([]byte(s)) {
			if done, kept = c.Press(k); done {
				return
			}
		}
		return
	}
	press("\x1b[B \x1b[Bj ")
	if got := c.Chosen(); len(got) != 1 || got[0] != 0 {
		t.Errorf("after down, space, down, j, space: ticked %v, want [0]", got)
	}
	press("n")
	if done, _ := press("\r"); done || !strings.Contains(c.View(false), "nothing is ticked") {
		t.Errorf("enter with none ticked finished the list:\n%s", c.View(false))
	}
	press("a")
	if done, kept := press("k\r"); !done || !kept || len(c.Chosen()) != 3 {
		t.Errorf("a, k, enter: done %t kept %t chosen %v", done, kept, c.Chosen())
	}
	for _, quit := range []string{"q", "\x1b", "\x03"} {
		c := &Checklist{Items: []ChecklistItem{{Label: "a", On: true}}}
		if done, kept := c.Press(ParseKeys([]byte(quit))[0]); !done || kept {
			t.Errorf("%q: done %t kept %t, want leaving without keeping", quit, done, kept)
		}
	}
}

// TestChecklistView: every item with its box, the cursor's marked and its
// detail under it, the count; without colour no escape sequence but the
// ones that redraw it in place, each line cut to the width.
func TestChecklistView(t *testing.T) {
	c := &Checklist{Title: "Keep which?", Width: 40, Items: []ChecklistItem{
		{Label: "1  projects_task (project_id, due_date)  5096 kB", Detail: "why one", On: true},
		{Label: "2  auth_user (upper(email))", Detail: "why two"},
	}}
	v := c.View(false)
	for _, want := range []string{"Keep which?\n", "> [x] 1  projects_task (project_id, due…\n", "      why one\n", "  [ ] 2  auth_user (upper(email))\n", "1 of 2 ticked"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "why two") || strings.Contains(v, "\x1b") {
		t.Errorf("view shows another item's detail or colours without Color:\n%s", v)
	}
	for _, line := range strings.Split(strings.TrimSuffix(v, "\n"), "\n") {
		if n := len([]rune(line)); n > 40 {
			t.Errorf("line of %d characters, wider than 40: %q", n, line)
		}
	}
	c.Color = true
	if cv := c.View(false); !strings.Contains(cv, "\x1b[") {
		t.Error("no styling with Color on")
	}

	var out bytes.Buffer
	kept, err := c.Run(context.Background(), strings.NewReader("\x1b[B \r"), &out)
	if err != nil || !kept || len(c.Chosen()) != 2 {
		t.Fatalf("Run: kept %t, %v, chosen %v", kept, err, c.Chosen())
	}
	if s := out.String(); !strings.Contains(s, "\x1b[?25l") || !strings.HasSuffix(s, "\x1b[?25h") || !strings.Contains(s, "\r\x1b[") {
		t.Errorf("Run does not hide the cursor, redraw in place and show the cursor again: %q", s)
	}
	if _, err := (&Checklist{Items: []ChecklistItem{{Label: "a"}}}).Run(context.Background(), strings.NewReader(""), io.Discard); err == nil {
		t.Error("Run on input that ends returned no error")
	}
}
