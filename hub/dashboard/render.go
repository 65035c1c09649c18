package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"cardtill/hub"
)

// pageNames are the templates/NAME.html files, each rendered inside
// templates/layout.html.
var pageNames = []string{"login", "error", "tills", "conflicts", "conflict", "days"}

// page is what every template gets.
type page struct {
	Lang    string
	Name    string // the page's template
	Path    string // the request's path, for the language switch
	Account string // "" on the login page
	CSRF    string // the session's token, for every form
	Now     time.Time
	Data    any
}

func (d *Dashboard) parse() error {
	funcs := template.FuncMap{
		"t":        tr,
		"tf":       trf,
		"tm":       d.tm,
		"ago":      func(now, t time.Time) string { return hub.Ago(now, t) },
		"htmlLang": htmlLang,
		"pct":      func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
	}
	d.pages = map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+n+".html")
		if err != nil {
			return fmt.Errorf("dashboard: template %s: %w", n, err)
		}
		d.pages[n] = t
	}
	return nil
}

// render writes page name; c is nil when no one is logged in.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name, lang string, c *reqCtx, data any) {
	p := page{Lang: lang, Name: name, Path: r.URL.Path, Now: d.now(), Data: data}
	if c != nil {
		p.Account, p.CSRF = c.account, c.sess.CSRF
	}
	var buf bytes.Buffer
	if err := d.pages[name].Execute(&buf, p); err != nil {
		d.log.Error("dashboard: page not rendered", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct{ Message string }

// refuse shows an error page.
func (d *Dashboard) refuse(w http.ResponseWriter, r *http.Request, lang string, status int, key string) {
	c, _ := d.session(r)
	d.render(w, r, status, "error", lang, c, errorData{Message: tr(lang, key)})
}

// htmlLang is the page's lang attribute.
func htmlLang(l string) string {
	if strings.HasPrefix(l, "zh") {
		return "zh-CN"
	}
	return "en"
}

// tm is a time as pages show it ("" for none).
func (d *Dashboard) tm(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(d.loc).Format("2006-01-02 15:04")
}
