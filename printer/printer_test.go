package printer

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var update = flag.Bool("update", false, "rewrite golden files")

const receipt = "            交班报表\n================================\n班次                         #31\n收银员                    王小明\n  满100减20优惠券              9\n  Free coffee                  2\n冲突（需店长处理）\n  123456789012       11-23 00:12\n    已处理：店长李 11-23 01:35\n================================\n"

// The bytes a printer on a serial port receives, read from the other end
// of a pty, are ESC @, FS &, the receipt in GB18030, a feed and a cut,
// exactly as the golden file has them.
func TestPrintOnAPty(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no ptys on Windows")
	}
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	defer slave.Close()
	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for !bytes.HasSuffix(b.Bytes(), cmdCut) {
			n, err := master.Read(buf)
			if err != nil {
				break
			}
			b.Write(buf[:n])
		}
		got <- b.Bytes()
	}()
	p := New(Options{Port: slave.Name(), Baud: 9600, Timeout: 10 * time.Second})
	if err := p.Print(context.Background(), receipt); err != nil {
		t.Fatal(err)
	}
	var b []byte
	select {
	case b = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing reached the pty")
	}
	path := filepath.Join("testdata", "receipt.escpos.golden")
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./printer -update)", err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("printer bytes differ from the golden:\n got %q\nwant %q", b, want)
	}
	if !bytes.HasPrefix(b, append(append([]byte{}, cmdInit...), cmdChinese...)) || !bytes.HasSuffix(b, append(append([]byte{}, cmdFeed...), cmdCut...)) {
		t.Fatalf("no ESC/POS init or cut: %q", b)
	}
	body := b[len(cmdInit)+len(cmdChinese) : len(b)-len(cmdFeed)-len(cmdCut)]
	if bytes.Contains(body, []byte("交班")) {
		t.Fatal("the body is UTF-8, not GB18030")
	}
	text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(body)
	if err != nil || string(text) != receipt {
		t.Fatalf("the body does not decode from GB18030 to the receipt (%v):\n%s", err, text)
	}
	if !bytes.Contains(body, []byte{0xbd, 0xbb, 0xb0, 0xe0}) { // 交班 in GB18030
		t.Fatalf("交班 is not in GB18030: %x", body[:16])
	}
}

// Control characters in the text never reach the printer as commands.
func TestEncodeDropsControls(t *testing.T) {
	t.Parallel()
	b, err := Encode("a\x1b@b\x1dVc\r\nd")
	if err != nil {
		t.Fatal(err)
	}
	body := b[len(cmdInit)+len(cmdChinese) : len(b)-len(cmdFeed)-len(cmdCut)]
	if string(body) != "a@bVc\nd\n" {
		t.Fatalf("body %q", body)
	}
}

// A printer that is missing, or stops answering, gives a clear error in
// time and never holds the caller; while one write is stuck, another
// print says so at once.
func TestMissingAndStalledPrinter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := New(Options{Port: filepath.Join(dir, "lp0"), Timeout: time.Second})
	if err := p.Print(context.Background(), receipt); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing printer: %v", err)
	}
	if err := New(Options{}).Print(context.Background(), receipt); err == nil {
		t.Fatal("no port set up, no error")
	}
	if runtime.GOOS == "windows" {
		return
	}
	// a FIFO nobody reads: opening it for writing blocks, as a printer
	// that stopped answering does
	fifo := filepath.Join(dir, "stalled")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	p = New(Options{Port: fifo, Timeout: 200 * time.Millisecond})
	start := time.Now()
	if err := p.Print(context.Background(), receipt); !errors.Is(err, ErrStalled) {
		t.Fatalf("stalled printer: %v", err)
	}
	if err := p.Print(context.Background(), receipt); !errors.Is(err, ErrBusy) {
		t.Fatalf("second print on a stuck printer: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the stalled printer held the caller %s", d)
	}
	// the stuck write ends once someone reads: the printer is usable again
	r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 1<<16)
	for {
		p.mu.Lock()
		busy := p.busy
		p.mu.Unlock()
		if !busy {
			break
		}
		_ = r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, _ = r.Read(buf)
	}
	w, err := os.CreateTemp(dir, "lp")
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	p.o.Port = w.Name() // a device file that takes it
	if err := p.Print(context.Background(), receipt); err != nil {
		t.Fatalf("after the stall: %v", err)
	}
}
