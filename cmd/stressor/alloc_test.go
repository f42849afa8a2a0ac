package main

import "testing"

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "512KiB": 512 << 10, "200MiB": 200 << 20, "1GiB": 1 << 30} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-5MiB", "12x", "65GiB", "1.5GiB"} {
		if _, err := parseBytes(bad); err == nil {
			t.Errorf("parseBytes(%q) accepted", bad)
		}
	}
}
