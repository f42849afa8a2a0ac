package scenario

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decode reads one spec from r. Before the strict decoding it walks the
// document against Spec's fields, so that a field that does not exist, or
// a value of the wrong kind, is a *FieldError naming its YAML path
// (faults[0].durtion) with the names that would fit, rather than the YAML
// library's message about a Go type.
func decode(r io.Reader) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("scenario: empty file")
		}
		return nil, fmt.Errorf("scenario: %w", err)
	}
	if len(doc.Content) == 1 {
		if err := walk(doc.Content[0], reflect.TypeOf(Spec{}), ""); err != nil {
			return nil, err
		}
	}
	var s Spec
	if err := doc.Decode(&s); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return &s, nil
}

var durationType = reflect.TypeOf(Duration(0))

// walk checks node against t, at path.
func walk(node *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil // null (or ~) is the zero value, as the decoder has it
	}
	switch {
	case t == durationType:
		return checkDuration(node, path)
	case t.Kind() == reflect.Struct:
		return walkStruct(node, t, path)
	case t.Kind() == reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			return wrongKind(node, path, "a list")
		}
		for i, c := range node.Content {
			if err := walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Map:
		if node.Kind != yaml.MappingNode {
			return wrongKind(node, path, "a mapping of names to values")
		}
		return nil
	}
	if node.Kind != yaml.ScalarNode {
		return wrongKind(node, path, "a single value")
	}
	v := reflect.New(t)
	if err := node.Decode(v.Interface()); err != nil {
		return &FieldError{Field: path, Problem: fmt.Sprintf("%q is not %s", node.Value, kindName(t))}
	}
	return nil
}

// walkStruct checks a mapping against the yaml fields of t.
func walkStruct(node *yaml.Node, t reflect.Type, path string) error {
	if node.Kind != yaml.MappingNode {
		return wrongKind(node, path, "a mapping")
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, val := node.Content[i].Value, node.Content[i+1]
		field := join(path, key)
		ft, ok := fields[key]
		if !ok {
			known := make([]string, 0, len(fields))
			for k := range fields {
				known = append(known, k)
			}
			sort.Strings(known)
			return &FieldError{Field: field, Problem: "unknown field (known here: " + strings.Join(known, ", ") + ")", Unknown: key, Known: known}
		}
		if err := walk(val, ft, field); err != nil {
			return err
		}
	}
	return nil
}

// checkDuration: a Go duration such as 30s, not negative.
func checkDuration(node *yaml.Node, path string) error {
	if node.Kind != yaml.ScalarNode {
		return wrongKind(node, path, "a duration such as 30s")
	}
	d, err := time.ParseDuration(node.Value)
	switch {
	case err != nil:
		return &FieldError{Field: path, Problem: fmt.Sprintf("%q is not a duration such as 30s", node.Value)}
	case d < 0:
		return &FieldError{Field: path, Problem: fmt.Sprintf("%s: must not be negative", node.Value)}
	}
	return nil
}

func wrongKind(node *yaml.Node, path, want string) error {
	return &FieldError{Field: path, Problem: fmt.Sprintf("line %d: want %s", node.Line, want)}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Uint, reflect.Int32:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.Kind().String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
