package scenario

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const goodSpec = `name: x
load: {rate: 20}
baseline: {duration: 5s}
faults: [{name: cpu-spike, duration: 5s, params: {cores: "2"}}]
after: {duration: 5s}
`

func TestDecodeNamesTheFieldByPath(t *testing.T) {
	if _, err := Parse(strings.NewReader(goodSpec), nil); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	for _, c := range []struct {
		old, new       string
		field, problem string
		unknown        string
		known          string // one of the names offered
	}{
		{"duration: 5s, params", "durtion: 5s, params", "faults[0].durtion", "unknown field", "durtion", "duration"},
		{"load: {rate: 20}", "lod: {rate: 20}", "lod", "unknown field", "lod", "load"},
		{"load: {rate: 20}", "load: {rate: fast}", "load.rate", `"fast" is not a whole number`, "", ""},
		{"baseline: {duration: 5s}", "baseline: {duration: soon}", "baseline.duration", `"soon" is not a duration such as 30s`, "", ""},
		{"baseline: {duration: 5s}", "baseline: {duration: -5s}", "baseline.duration", "-5s: must not be negative", "", ""},
		{"baseline: {duration: 5s}", "baseline: [5s]", "baseline", "want a mapping", "", ""},
		{"faults: [{", "faults: {x: [{", "faults", "want a list", "", ""},
		{`params: {cores: "2"}`, "params: [2]", "faults[0].params", "want a mapping of names to values", "", ""},
	} {
		doc := strings.Replace(goodSpec, c.old, c.new, 1)
		if c.old == "faults: [{" {
			doc = strings.Replace(doc, "}]\n", "}]}\n", 1)
		}
		_, err := Parse(strings.NewReader(doc), nil)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a FieldError", c.new, err)
			continue
		}
		if fe.Field != c.field || !strings.Contains(fe.Problem, c.problem) || fe.Unknown != c.unknown {
			t.Errorf("%s: field %q problem %q unknown %q; want %q, %q, %q", c.new, fe.Field, fe.Problem, fe.Unknown, c.field, c.problem, c.unknown)
		}
		if c.known != "" && !strings.Contains(strings.Join(fe.Known, " "), c.known) {
			t.Errorf("%s: known %v lacks %q", c.new, fe.Known, c.known)
		}
	}
}

// A report stores its spec as JSON, nulls included; replay reads it back
// through YAML, so a null is the zero value, as the decoder has it.
func TestDecodeReadsASpecStoredAsJSON(t *testing.T) {
	s, err := Parse(strings.NewReader(goodSpec), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "null") {
		t.Fatalf("the stored form has no null to read back: %s", b)
	}
	var v any
	json.Unmarshal(b, &v)
	y, _ := yaml.Marshal(v)
	back, err := Parse(strings.NewReader(string(y)), nil)
	if err != nil {
		t.Fatalf("the stored form does not read back: %v\n%s", err, y)
	}
	if back.Faults[0].Params["cores"] != "2" || back.Baseline.Duration.D().Seconds() != 5 {
		t.Errorf("read back as %+v", back)
	}
}
