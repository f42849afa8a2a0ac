package cli

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// Fields lists the fields of v's JSON form (what -o json and -o yaml
// print) as paths: "scenarios[].name" is the name of each element of the
// list scenarios, "codes{}" a map's values. The list is what GAMEDAYS.md
// documents for the command whose result v is, and what a test holds
// the two to.
func Fields(v any) []string {
	var out []string
	walkFields(reflect.TypeOf(v), "", func(path string, _ reflect.Type) { out = append(out, path) })
	return out
}

// Shape renders the fields of v's JSON form on one line for a command's
// help: {"name", "faults": [{"name", "duration"}], "codes": {…: n}}.
func Shape(v any) string { return shape(reflect.TypeOf(v)) }

// field is one JSON field of a struct.
type field struct {
	name string
	typ  reflect.Type
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// scalar reports whether t prints as one JSON value (a number, a string,
// a time) rather than an object or a list.
func scalar(t reflect.Type) bool {
	t = deref(t)
	if t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) ||
		t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return false
	case reflect.Slice, reflect.Array:
		return t.Elem().Kind() == reflect.Uint8 // []byte is a base64 string
	}
	return true
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields lists a struct's fields as encoding/json writes them:
// exported, renamed by their tag, "-" left out, untagged embedded
// structs inlined.
func jsonFields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct {
			out = append(out, jsonFields(deref(f.Type))...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name, f.Type})
	}
	return out
}

// walkFields calls visit with the path of every field below t.
func walkFields(t reflect.Type, path string, visit func(string, reflect.Type)) {
	if scalar(t) {
		return
	}
	t = deref(t)
	switch t.Kind() {
	case reflect.Struct:
		for _, f := range jsonFields(t) {
			p := f.name
			if path != "" {
				p = path + "." + f.name
			}
			visit(p, f.typ)
			walkFields(f.typ, p, visit)
		}
	case reflect.Slice, reflect.Array:
		visitInner(t.Elem(), path+"[]", visit)
	case reflect.Map:
		visitInner(t.Elem(), path+"{}", visit)
	}
}

// visitInner walks a list's or map's elements: one path for scalars,
// their fields for objects.
func visitInner(elem reflect.Type, path string, visit func(string, reflect.Type)) {
	if scalar(elem) {
		visit(path, elem)
		return
	}
	walkFields(elem, path, visit)
}

func shape(t reflect.Type) string {
	if scalar(t) {
		return ""
	}
	t = deref(t)
	inner := func(e reflect.Type) string {
		if s := shape(e); s != "" {
			return s
		}
		return "…"
	}
	switch t.Kind() {
	case reflect.Struct:
		var parts []string
		for _, f := range jsonFields(t) {
			s := strconv.Quote(f.name)
			if sub := shape(f.typ); sub != "" {
				s += ": " + sub
			}
			parts = append(parts, s)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case reflect.Slice, reflect.Array:
		return "[" + inner(t.Elem()) + "]"
	case reflect.Map:
		return "{…: " + inner(t.Elem()) + "}"
	}
	return ""
}
