package auth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestParseFile(t *testing.T) {
	data := "# metrics tokens\n\n  scraper-a:" + secretA + "  \r\n# next one\n" + secretB + "\n"
	toks, err := ParseFile("tokens", []byte(data), "")
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	if len(toks) != 2 || toks[0].Name != "scraper-a" || toks[1].Name != UnnamedName(2) {
		t.Fatalf("got %+v", toks)
	}
	if name, err := NewSet(toks).Match(secretB); err != nil || name != toks[1].Name {
		t.Errorf("Match(secretB) = %q, %v", name, err)
	}
	// The admin file names a bare token "admin", as GATE_ADMIN_TOKEN does.
	admin, err := ParseFile("admin", []byte(secretA+"\n"), "admin")
	if err != nil || len(admin) != 1 || admin[0].Name != "admin" {
		t.Fatalf("admin file: %+v, %v", admin, err)
	}
}

func TestParseFileErrorsNameFileAndLine(t *testing.T) {
	cases := map[string]struct {
		in   string
		line int
		want string
	}{
		"empty":          {"", 0, "empty"},
		"blank":          {"  \n\n", 0, "empty"},
		"only comments":  {"# a\n# b\n", 0, "no tokens"},
		"short":          {"# c\nx:" + secretA + "\ny:tiny1tiny1\n", 3, "token shorter than 16"},
		"duplicate name": {"x:" + secretA + "\n\nx:" + secretB, 3, "name already used on line 1"},
		"duplicate tok":  {"x:" + secretA + "\ny:" + secretA, 2, "same token as line 1"},
		"two bare admin": {secretA + "\n" + secretB, 2, "name already used on line 1"},
		"comma":          {"x:" + secretA + ",y:" + secretB, 1, "one entry per line"},
		"bad name":       {secretA + "x y:" + secretB, 1, "name may only"},
		"bad char":       {"x:" + secretA + "\"", 1, "token has a character"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			def := ""
			if name == "two bare admin" {
				def = "admin"
			}
			_, err := ParseFile("/etc/gate/tokens", []byte(c.in), def)
			var fe *FileError
			if !errors.As(err, &fe) || fe.Line != c.line || !strings.Contains(fe.Problem, c.want) || fe.Path != "/etc/gate/tokens" {
				t.Fatalf("err = %#v, want line %d and %q", err, c.line, c.want)
			}
			if !strings.HasPrefix(err.Error(), "token file /etc/gate/tokens: ") {
				t.Errorf("error %q does not name the file first", err)
			}
			for _, s := range []string{secretA, secretB, "tiny1", "x y"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q quotes part of an entry", err)
				}
			}
		})
	}
}

func TestReadFileProblems(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tokens")
	if err := os.WriteFile(good, []byte("a:"+secretA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	toks, sum, err := ReadFile(good, "")
	if err != nil || len(toks) != 1 || sum == [32]byte{} {
		t.Fatalf("ReadFile: %v %v", toks, err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "missing (no such file)",
		dir:                           "unreadable",
		big:                           "larger than",
	} {
		_, _, err := ReadFile(path, "")
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path || !strings.Contains(fe.Problem, want) {
			t.Errorf("ReadFile(%s) = %v, want %q", path, err, want)
		}
		if strings.Count(err.Error(), path) != 1 {
			t.Errorf("error %q should name the path once", err)
		}
	}
}

func TestKeyringSwapIsWhole(t *testing.T) {
	one, _ := ParseList("a:" + secretA)
	two, _ := ParseList("b:" + secretB)
	k := NewKeyring(NewSet(one))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // exits when stop closes
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Each read sees one whole set: exactly one of the two matches.
			s := k.Set()
			if s.Contains(secretA) == s.Contains(secretB) {
				t.Error("a set holding both or neither token")
				return
			}
		}
	}()
	for i := range 1000 {
		if i%2 == 0 {
			k.Swap(NewSet(two))
		} else {
			k.Swap(NewSet(one))
		}
	}
	close(stop)
	wg.Wait()
}

func TestChanges(t *testing.T) {
	old, _ := ParseList("a:" + secretA + ",b:" + secretB)
	new, _ := ParseList("b:" + secretA + "x,c:" + secretB + "y")
	added, removed, replaced := Changes(NewSet(old), NewSet(new))
	if !slices.Equal(added, []string{"c"}) || !slices.Equal(removed, []string{"a"}) || !slices.Equal(replaced, []string{"b"}) {
		t.Fatalf("added %v removed %v replaced %v", added, removed, replaced)
	}
}

// TestReadFileRefusesFilesOpenToEveryUser: a token file that every user
// may read or write is refused, naming its mode; group access and a
// symlink to a private file (a Kubernetes secret volume) are accepted.
func TestReadFileRefusesFilesOpenToEveryUser(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	if err := os.WriteFile(path, []byte("a:0123456789abcdef-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	for mode, ok := range map[os.FileMode]bool{0o600: true, 0o640: true, 0o660: true, 0o604: false, 0o602: false, 0o644: false} {
		os.Chmod(path, mode)
		for _, p := range []string{path, link} {
			_, _, err := ReadFile(p, "")
			var fe *FileError
			switch {
			case ok && err != nil:
				t.Errorf("mode %04o (%s): %v", mode, filepath.Base(p), err)
			case !ok && (!errors.As(err, &fe) || !strings.Contains(fe.Problem, "open to every user")):
				t.Errorf("mode %04o (%s) accepted or refused for another reason: %v", mode, filepath.Base(p), err)
			}
		}
	}
}
