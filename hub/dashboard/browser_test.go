package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The dashboard in a real browser: Debian's chromium driven by chromedp
// (CI installs chromium and fonts-noto-cjk, .ci/run). Without chromium the
// tests skip, saying so; under CI (CI set) they fail instead.

// chromium finds the browser: CARDTILL_CHROMIUM, or chromium on PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CARDTILL_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI: no chromium on PATH: .ci/run installs Debian's chromium and fonts-noto-cjk (apt-get) for the dashboard's browser tests")
	}
	t.Skip("no chromium: install Debian's chromium and fonts-noto-cjk (apt-get install chromium fonts-noto-cjk), or set CARDTILL_CHROMIUM, to run the dashboard's browser tests")
	return ""
}

// browser starts a headless chromium of its own (a fresh profile, no
// network beyond the loopback pages it is sent to) for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// One bound for the whole test: a browser that hangs fails it, never
	// holds it for ever.
	ctx, cancelC := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// do runs steps, failing the test with what they were for.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action and returns its value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

type css = chromedp.CSS

// browserLogin logs in through the form.
func browserLogin(t *testing.T, ctx context.Context, e *env, lang string) {
	t.Helper()
	do(t, ctx, "login", chromedp.Navigate(e.srv.URL+"/admin/login?lang="+lang),
		chromedp.WaitVisible(css("#account")),
		chromedp.SendKeys(css("#account"), account),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#logout")))
}

// inked counts the pixels of a PNG that are not (near) the background
// colour of its top-left corner.
func inked(t *testing.T, b []byte) (n, total int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	bg := img.At(img.Bounds().Min.X, img.Bounds().Min.Y)
	br, bgc, bb, _ := bg.RGBA()
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if diff(pr, br)+diff(pg, bgc)+diff(pb, bb) > 0x3000 {
				n++
			}
		}
	}
	return n, r.Dx() * r.Dy()
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// Log in through the form; a form whose CSRF token was taken out is
// refused and changes nothing; the zh pages render Chinese: the text is
// there, the screenshot is not blank, and two different words draw
// differently (a missing CJK font draws every character as the same box).
func TestBrowserLoginCSRFAndChinese(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := newEnv(t)
	// A wrong password first: the page says so.
	do(t, ctx, "wrong password", chromedp.Navigate(e.srv.URL+"/admin/login?lang=en"),
		chromedp.WaitVisible(css("#account")),
		chromedp.SendKeys(css("#account"), account),
		chromedp.SendKeys(css("#password"), "not the password"),
		chromedp.Click(css("#submit")),
		chromedp.WaitVisible(css("#error")))
	if msg := get(t, ctx, "error", chromedp.Text(css("#error"))); !strings.Contains(msg, "Wrong account or password") {
		t.Fatalf("wrong password: %q", msg)
	}
	browserLogin(t, ctx, e, "zh")
	loc := get(t, ctx, "location", chromedp.Location())
	nav := get(t, ctx, "nav", chromedp.Text(css("header nav")))
	h1 := get(t, ctx, "h1", chromedp.Text(css("h1")))
	if !strings.HasSuffix(loc, "/admin/tills") || !strings.Contains(nav, "冲突") || !strings.Contains(nav, "每日") || h1 != "收银台" {
		t.Fatalf("zh page: %s nav %q h1 %q", loc, nav, h1)
	}
	shot := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	if n, total := inked(t, shot); n < total/200 {
		t.Fatalf("the zh page's screenshot is blank: %d of %d pixels drawn", n, total)
	}
	w1 := get(t, ctx, "冲突", chromedp.Screenshot(css("header nav a:nth-child(2)")))
	w2 := get(t, ctx, "每日", chromedp.Screenshot(css("header nav a:nth-child(3)")))
	if n, _ := inked(t, w1); n == 0 {
		t.Fatal("冲突 draws nothing")
	}
	if bytes.Equal(w1, w2) {
		t.Fatal("冲突 and 每日 draw the same pixels: no CJK font (fonts-noto-cjk)")
	}
	if os.Getenv("CARDTILL_SCREENSHOTS") != "" {
		_ = os.WriteFile(os.Getenv("CARDTILL_SCREENSHOTS")+"/tills-zh.png", shot, 0o644)
	}
	// The logout form with its token emptied: refused, still logged in.
	do(t, ctx, "post without the token",
		chromedp.SetAttributeValue(css(`form.inline input[name="csrf"]`), "value", ""),
		chromedp.Click(css("#logout")),
		chromedp.WaitVisible(css("#error")))
	if refused := get(t, ctx, "refusal", chromedp.Text(css("#error"))); !strings.Contains(refused, "未做任何更改") {
		t.Fatalf("refusal: %q", refused)
	}
	do(t, ctx, "still logged in", chromedp.Navigate(e.srv.URL+"/admin/tills"), chromedp.WaitVisible(css("#logout")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/admin/tills") {
		t.Fatalf("logged out by a refused POST: %s", loc)
	}
	// With its token the same form logs out.
	do(t, ctx, "logout", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#account")))
	if loc := get(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/admin/login") {
		t.Fatalf("after logout: %s", loc)
	}
}

// A real till reports to the hub; stopped, it turns marked once three
// intervals pass. Its conflict, resolved at HQ with a note in the browser,
// is resolved on the till after its next exchange, and the page then no
// longer says the till has not heard.
func TestBrowserTillStopsAndConflictResolvedAtHQ(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	e := newEnv(t)
	tl := newRealTill(t, e)
	id := tl.conflict("800012345678")
	tl.exchange()
	browserLogin(t, ctx, e, "en")
	row := css("#till-till-a")
	do(t, ctx, "tills", chromedp.Navigate(e.srv.URL+"/admin/tills"), chromedp.WaitVisible(row))
	if m := get(t, ctx, "mark", chromedp.AttributeValue(row, "data-marked")); m.Value != "false" {
		t.Fatalf("a till that just reported is marked: %+v", m)
	}
	// The till stops (no more exchanges); the hub's clock moves on.
	e.clk.Advance(3*time.Minute + time.Second)
	do(t, ctx, "tills after three intervals", chromedp.Reload(), chromedp.WaitVisible(row))
	m := get(t, ctx, "mark", chromedp.AttributeValue(row, "data-marked"))
	marks := get(t, ctx, "marks", chromedp.Text(css("#till-till-a td.marks")))
	if m.Value != "true" || !strings.Contains(marks, "silent for 3m") {
		t.Fatalf("a stopped till is not marked: %+v %q", m, marks)
	}
	if first := get(t, ctx, "first row", chromedp.AttributeValue(css("#tills tbody tr:first-child"), "id")); first.Value != "till-till-a" {
		t.Fatalf("first row %+v", first)
	}

	detail := fmt.Sprintf("/admin/conflicts/till-a/%d", id)
	do(t, ctx, "resolve at HQ",
		chromedp.Navigate(e.srv.URL+"/admin/conflicts"),
		chromedp.WaitVisible(css(fmt.Sprintf("#conflict-till-a-%d", id))),
		chromedp.Click(css(fmt.Sprintf(`a[href="%s"]`, detail))),
		chromedp.WaitVisible(css("#note")),
		chromedp.SendKeys(css("#note"), "customer refunded ¥20 at HQ"),
		chromedp.Click(css("#resolve")),
		chromedp.WaitVisible(css("#done")))
	res := get(t, ctx, "resolution", chromedp.Text(css("#resolution")))
	if !strings.Contains(res, "resolved by zhao") || !strings.Contains(res, "customer refunded ¥20 at HQ") || !strings.Contains(res, "the till has not heard yet") {
		t.Fatalf("after resolving: %q", res)
	}
	if r, _ := tl.db.Resolution(id); r != nil {
		t.Fatalf("the till has it before any exchange: %+v", r)
	}
	tl.exchange()
	r, err := tl.db.Resolution(id)
	if err != nil || r == nil || r.Note != "customer refunded ¥20 at HQ" || r.By != "zhao (HQ)" {
		t.Fatalf("on the till: %+v %v", r, err)
	}
	do(t, ctx, "after the till heard", chromedp.Navigate(e.srv.URL+detail), chromedp.WaitVisible(css("#resolution")))
	if res := get(t, ctx, "resolution", chromedp.Text(css("#resolution"))); strings.Contains(res, "has not heard") || !strings.Contains(res, "at HQ") {
		t.Fatalf("after the till's exchange: %q", res)
	}
}
