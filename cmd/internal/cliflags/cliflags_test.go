package cliflags

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		args   []string
		target string
		json   bool
		pos    string
	}{
		{[]string{"io-glitch", "--target", "process"}, "process", false, "io-glitch"},
		{[]string{"--target", "process", "a", "--json", "b"}, "process", true, "a b"},
		{[]string{"a", "--", "--target", "x"}, "auto", false, "a --target x"},
		{[]string{"--target", "--", "a"}, "--", false, "a"}, // "--" as a flag's value
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		target := fs.String("target", "auto", "")
		js := fs.Bool("json", false, "")
		if err := Parse(fs, c.args); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if *target != c.target || *js != c.json || strings.Join(fs.Args(), " ") != c.pos {
			t.Errorf("%v: target %q json %v positional %q", c.args, *target, *js, fs.Args())
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := Parse(fs, []string{"a", "--bogus"}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown flag after a positional: %v", err)
	}
	if err := Parse(fs, []string{"a", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}
