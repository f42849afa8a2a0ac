package auth

import (
	"errors"
	"strings"
	"testing"
)

const (
	secretA = "scraper-secret-0123456789"
	secretB = "gameday-secret-0123456789"
)

func TestParseList(t *testing.T) {
	toks, err := ParseList(" scraper:" + secretA + " , " + secretB)
	if err != nil {
		t.Fatalf("ParseList: %v", err)
	}
	if len(toks) != 2 || toks[0].Name != "scraper" {
		t.Fatalf("got %+v", toks)
	}
	if toks[1].Name != "token-2" {
		t.Errorf("unnamed token got name %q, want token-2 (its position)", toks[1].Name)
	}
	set := NewSet(toks)
	if name, err := set.Match(secretA); err != nil || name != "scraper" {
		t.Errorf("Match(secretA) = %q, %v", name, err)
	}
	if _, err := set.Match(secretA + "x"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Match(wrong) err = %v, want ErrUnknown", err)
	}
}

// TestUnnamedTokensNamedByPosition: an unnamed entry is called after its
// position in the list, never after its secret.
func TestUnnamedTokensNamedByPosition(t *testing.T) {
	toks, err := ParseList(secretA + ",scraper:" + secretB + "," + secretA + "x")
	if err != nil {
		t.Fatalf("ParseList: %v", err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.Name)
	}
	if strings.Join(got, ",") != "token-1,scraper,token-3" {
		t.Fatalf("names %v, want [token-1 scraper token-3]", got)
	}
	other, err := ParseList(secretB)
	if err != nil || other[0].Name != "token-1" {
		t.Fatalf("another secret in the same position: %+v, %v; want token-1", other, err)
	}
	if _, err := ParseList("token-2:" + secretA + "," + secretB); err == nil || !strings.Contains(err.Error(), `entry 2: name "token-2" already used by entry 1`) {
		t.Fatalf("an explicit name equal to an unnamed entry's: %v", err)
	}
}

func TestParseListErrors(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"empty":          {"", "no tokens"},
		"empty entry":    {secretA + ",,", "entry 2 is empty"},
		"empty name":     {":" + secretA, "entry 1: empty name"},
		"bad name":       {"a b:" + secretA, "entry 1: name may only"},
		"short":          {"x:tiny1", "entry 1: token shorter than 16"},
		"bad char":       {"x:" + secretA + "\"", "entry 1: token has a character"},
		"duplicate name": {"x:" + secretA + ",x:" + secretB, `entry 2: name "x" already used by entry 1`},
		"duplicate tok":  {"x:" + secretA + ",y:" + secretA, "entry 2: same token as entry 1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseList(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			for _, s := range []string{secretA, secretB, "tiny1"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes a token", err)
				}
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	cases := []struct {
		in      string
		want    string
		wantErr error
	}{
		{"Bearer " + secretA, secretA, nil},
		{"bearer " + secretA, secretA, nil},
		{"BEARER   " + secretA, secretA, nil},
		{"Bearer abc==", "abc==", nil},
		{"", "", ErrMissing},
		{"Basic dXNlcjpwYXNz", "", ErrScheme},
		{"Token", "", ErrScheme},
		{"Bearer", "", ErrMalformed},
		{"Bearer ", "", ErrMalformed},
		{"Bearer a b", "", ErrMalformed},
		{"Bearer a=b", "", ErrMalformed},
		{"Bearer ==", "", ErrMalformed},
		{"Bearer " + strings.Repeat("a", 2000), "", ErrMalformed},
	}
	for _, c := range cases {
		got, err := ParseAuthorization(c.in)
		if !errors.Is(err, c.wantErr) || got != c.want {
			t.Errorf("ParseAuthorization(%.30q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}

func TestReason(t *testing.T) {
	for err, want := range map[error]string{ErrMissing: "missing", ErrScheme: "wrong_scheme", ErrMalformed: "malformed", ErrUnknown: "unknown_token"} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer " + secretA, "bearer x", "Basic abc", "", "Bearer ", "Bearer a=b=", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := ParseAuthorization(header)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error %v", tok, err)
			}
			if len(header) > 12 && strings.Contains(err.Error(), header[7:]) {
				t.Fatalf("error %q echoes the header", err)
			}
			return
		}
		for i := 0; i < len(tok); i++ {
			if !isToken68(tok[i]) {
				t.Fatalf("accepted token with byte %q", tok[i])
			}
		}
		if !strings.HasSuffix(header, tok) {
			t.Fatalf("token %q is not the end of the header %q", tok, header)
		}
	})
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"a:" + secretA, secretA + "," + secretB, ",", ":", "a:b:c", "x:" + secretA + ",x:" + secretA} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		toks, err := ParseList(list)
		if err != nil {
			// No secret-looking part of any entry may appear in the error.
			for _, entry := range strings.Split(list, ",") {
				_, secret, ok := strings.Cut(entry, ":")
				if !ok {
					secret = entry
				}
				secret = strings.TrimSpace(secret)
				if len(secret) >= MinTokenLen && strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q quotes a token", err)
				}
			}
			return
		}
		if len(toks) == 0 {
			t.Fatal("no error and no tokens")
		}
		names := map[string]bool{}
		for _, tk := range toks {
			if tk.Name == "" || names[tk.Name] {
				t.Fatalf("empty or duplicate name %q", tk.Name)
			}
			names[tk.Name] = true
		}
	})
}
