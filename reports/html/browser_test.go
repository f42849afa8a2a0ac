package html

import (
	"bytes"
	"context"
	"flag"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// screenshotOut, when set, keeps the browser test's screenshot, to look
// at what the test saw: go test ./reports/html -run Browser -screenshot=/tmp/page.png
var screenshotOut = flag.String("screenshot", "", "copy the browser test's screenshot of the io-glitch page to this file")

// chromium finds a Chromium-family browser. Without one the test skips,
// unless CI is set: there a missing browser is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH and CI is set: the HTML report must be tested in a browser (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: the HTML report's browser test needs one (apt-get install chromium); CI fails instead of skipping")
	return ""
}

// probe is added first in the <head> of a copy of the page, never to the
// page itself (which has no script): it records script errors, resources
// that failed to load (error events, caught in the capture phase),
// console.error calls and every resource fetched, and after load writes
// them into the DOM, so --dump-dom shows them.
const probe = `<script>
var gdErrors = [];
window.addEventListener("error", function (e) {
  gdErrors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || e.type));
}, true);
var gdConsoleError = console.error;
console.error = function () { gdErrors.push("console.error: " + Array.prototype.join.call(arguments, " ")); gdConsoleError.apply(console, arguments); };
window.addEventListener("load", function () {
  var fetched = performance.getEntriesByType("resource").map(function (r) { return r.name; });
  var svgs = Array.prototype.map.call(document.querySelectorAll("figure svg.chart"), function (s) {
    var b = s.getBBox(); return s.querySelectorAll("path,text").length + ":" + Math.round(b.width) + "x" + Math.round(b.height);
  });
  var out = document.createElement("pre");
  out.id = "gameday-probe";
  out.textContent = "fetched=" + JSON.stringify(fetched) + "\nerrors=" + JSON.stringify(gdErrors) + "\nsvgs=" + JSON.stringify(svgs);
  document.body.appendChild(out);
});
</script>`

// TestBrowser opens a report page in headless Chromium from file://: it
// loads with no console error and nothing fetched, every chart's SVG is
// drawn with a size, and a screenshot is not blank.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	r := mustRead(t, "testdata/io-glitch.json")
	page, err := Write(dir, "testdata/io-glitch.json", r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(page)
	probed := filepath.Join(dir, "probed.html")
	if err := os.WriteFile(probed, bytes.Replace(b, []byte("<head>"), []byte("<head>"+probe), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	want := strings.Count(string(b), "<svg")

	// Each run gets its own profile directory, so runs never share state.
	base := func(profile string) []string {
		return []string{"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
			"--user-data-dir=" + filepath.Join(dir, profile), "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"}
	}
	dom, stderr := runChromium(t, bin, append(base("dom"), "--dump-dom", "file://"+probed)...)
	m := regexp.MustCompile(`(?s)<pre id="gameday-probe">fetched=(.*?)\nerrors=(.*?)\nsvgs=(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the probe did not run; dom:\n%.2000s\nstderr:\n%s", dom, stderr)
	}
	if m[1] != "[]" {
		t.Errorf("the page fetched resources: %s", m[1])
	}
	if m[2] != "[]" {
		t.Errorf("the page reported errors: %s", m[2])
	}
	svgs := regexp.MustCompile(`"(\d+):(\d+)x(\d+)"`).FindAllStringSubmatch(m[3], -1)
	if len(svgs) != want || want < 5 {
		t.Errorf("%d charts drawn in the browser, want %d (>= 5): %s", len(svgs), want, m[3])
	}
	for i, s := range svgs {
		if s[1] == "0" || s[2] == "0" || s[3] == "0" {
			t.Errorf("chart %d is empty in the browser: %s elements, %sx%s", i, s[1], s[2], s[3])
		}
	}
	// Chromium writes console messages to stderr as "CONSOLE(line)"; with
	// no script on the page there must be none at all, and no error that
	// names the page.
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") || strings.Contains(l, "Failed to load resource") {
			t.Errorf("console: %s", l)
		}
	}

	shot := filepath.Join(dir, "page.png")
	runChromium(t, bin, append(base("shot"), "--screenshot="+shot, "--window-size=1280,2400", "file://"+page)...)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if v := lumaVariance(img); v < 200 {
		t.Errorf("screenshot is blank: luma variance %.1f, want >= 200", v)
	} else {
		t.Logf("screenshot %v, luma variance %.0f", img.Bounds().Size(), v)
	}
	if *screenshotOut != "" {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(*screenshotOut, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runChromium(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, e.String())
	}
	return o.String(), e.String()
}

// lumaVariance is the variance of the pixels' luma (0–255): near 0 for a
// blank page, thousands for text and charts.
func lumaVariance(img image.Image) float64 {
	var n, sum, sq float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			n++
			sum += l
			sq += l * l
		}
	}
	mean := sum / n
	return sq/n - mean*mean
}
