package render

import (
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// terminalWidth is COLUMNS when it holds a width, else the width of out
// when it is a terminal, else 0 (DefaultWidth).
func terminalWidth(out io.Writer, getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n >= 40 {
		return n
	}
	f, ok := out.(*os.File)
	if !ok || !IsTerminal(out) {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col < 40 {
		return 0
	}
	return int(ws.Col)
}
