package html

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quannex/gameday/reports"
)

// ErrBadReport is wrapped by every error Read returns for a file that is
// not a report the pages can show.
var ErrBadReport = errors.New("bad report")

// FieldError names the file and the field a report lacks or gets wrong.
type FieldError struct {
	File  string
	Field string // "" when the file is not JSON at all
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: field %s: %s", e.File, e.Field, e.Msg)
}

func (e *FieldError) Unwrap() error { return ErrBadReport }

// Read loads a report for rendering and checks it has what the pages
// need: JSON, schema_version 1, the scenario with its name, started_at and
// the verdict. Everything else may be missing; the page says so.
func Read(path string) (*reports.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, &FieldError{File: path, Msg: "not a JSON report: " + err.Error()}
	}
	var v int
	if s, ok := raw["schema_version"]; !ok {
		return nil, &FieldError{File: path, Field: "schema_version", Msg: "missing"}
	} else if err := json.Unmarshal(s, &v); err != nil || v != reports.SchemaVersion {
		return nil, &FieldError{File: path, Field: "schema_version", Msg: fmt.Sprintf("%s is not a version this build reads (%d)", s, reports.SchemaVersion)}
	}
	var r reports.Report
	if err := json.Unmarshal(b, &r); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		}
		return nil, &FieldError{File: path, Field: field, Msg: err.Error()}
	}
	var sp struct {
		Name string `json:"name"`
	}
	switch {
	case len(r.Scenario) == 0 || string(r.Scenario) == "null":
		return nil, &FieldError{File: path, Field: "scenario", Msg: "missing"}
	case json.Unmarshal(r.Scenario, &sp) != nil || sp.Name == "":
		return nil, &FieldError{File: path, Field: "scenario.name", Msg: "missing"}
	case r.StartedAt.IsZero() || r.StartedAt.Equal(time.Time{}):
		return nil, &FieldError{File: path, Field: "started_at", Msg: "missing"}
	case r.Verdict == "":
		return nil, &FieldError{File: path, Field: "verdict", Msg: "missing"}
	}
	return &r, nil
}
