package target

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The directories a disk-full fault can fill (Options.Disks' keys).
const (
	DiskCache = "cache"
	DiskAudit = "audit"
)

// ErrNoSpace is returned by a disk probe when the filesystem had no space
// left (ENOSPC).
var ErrNoSpace = errors.New("no space left")

// ownerFile, in a target's root directory, names the run that mounted a
// size-limited filesystem under it, for `gameday cleanup`.
const ownerFile = "owner"

// mountDisks mounts a size-limited tmpfs on each of the gate's
// directories that disks names (cache, audit: bytes), owned by the gate's
// user. Mounting needs root: a harness that is not gets an error that says
// so. The run is recorded in root, so that `gameday cleanup` unmounts what
// a killed run left.
func mountDisks(root string, dirOf map[string]string, disks map[string]int64) error {
	if len(disks) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("a size-limited filesystem for the disk-full fault is a tmpfs mount, which needs root (the harness runs as uid %d)", os.Geteuid())
	}
	if err := os.WriteFile(filepath.Join(root, ownerFile), []byte(Owner()), 0o644); err != nil {
		return fmt.Errorf("target disks: %w", err)
	}
	for which, size := range disks {
		dir, ok := dirOf[which]
		if !ok {
			return fmt.Errorf("target disks: %q is not a directory of the gate (cache, audit)", which)
		}
		opts := fmt.Sprintf("size=%d,mode=0755,uid=%d,gid=%d", size, NobodyUID, NobodyUID)
		if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
			return fmt.Errorf("target disks: mount a %d-byte tmpfs on %s: %w", size, dir, err)
		}
	}
	return nil
}

// removeRoot unmounts every filesystem mounted under a target's root and
// removes it.
func removeRoot(root string) error {
	var errs []error
	for _, m := range mountsUnder(root) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	if len(errs) > 0 { // removing would reach into a mounted filesystem
		return errors.Join(errs...)
	}
	return os.RemoveAll(root)
}

// mountsUnder lists the mount points below dir, from /proc/self/mountinfo.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if strings.HasPrefix(mp, dir+string(filepath.Separator)) {
			out = append(out, mp)
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// UnmountLeftovers unmounts the size-limited filesystems of targets whose
// run is gone (killed before its Stop) and removes their directories; it
// returns how many targets it cleared and how many it left because their
// run still goes on.
func UnmountLeftovers() (cleared, running int, err error) {
	roots, _ := filepath.Glob(filepath.Join(os.TempDir(), "gameday-target-*"))
	var errs []error
	for _, root := range roots {
		b, rerr := os.ReadFile(filepath.Join(root, ownerFile))
		if rerr != nil || len(mountsUnder(root)) == 0 {
			continue // no disk was mounted under it
		}
		if OwnerAlive(string(b)) {
			running++
			continue
		}
		if err := removeRoot(root); err != nil {
			errs = append(errs, err)
			continue
		}
		cleared++
	}
	return cleared, running, errors.Join(errs...)
}

// diskFree is the free and total bytes of the filesystem under dir.
func diskFree(dir string) (free, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * st.Bsize, int64(st.Blocks) * st.Bsize, nil
}
