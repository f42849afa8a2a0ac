package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/httpsig"
)

const keygenUsage = `Usage: gate keygen --out PREFIX

Writes a new ed25519 key pair for signing the gate's responses:

  PREFIX.key  the private key, PKCS#8 PEM, mode 0600: give it to
              gate serve --signing-key (GATE_SIGNING_KEY); keep it secret
  PREFIX.pub  the public key, PKIX PEM: give it to whoever verifies,
              gate verify --pubkey PREFIX.pub URL

and prints the keyid (the first 16 hex digits of the SHA-256 of the public
key), which the gate puts in every signature. It never overwrites a file and
never prints the private key. openssl genpkey -algorithm ed25519 makes an
equivalent private key.

Exit 0: written; 2: usage (no --out, a file exists); 3: could not write.

Flags:
`

func keygen(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("gate keygen", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, keygenUsage); fset.PrintDefaults() }
	out := fset.String("out", "", "path prefix of the key files: writes PREFIX.key and PREFIX.pub")
	if err := parse(fset, args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return usagef("keygen: unexpected argument %q", fset.Arg(0))
	}
	if *out == "" {
		return usagef("--out: required, e.g. gate keygen --out /etc/gate/signing")
	}
	keyFile, pubFile := *out+".key", *out+".pub"
	for _, f := range []string{keyFile, pubFile} {
		if _, err := os.Lstat(f); err == nil {
			return usagef("--out: %s exists; keygen never overwrites a key", f)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	privPEM, err := httpsig.MarshalPrivateKey(priv)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	pubPEM, err := httpsig.MarshalPublicKey(pub)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if err := writeNew(keyFile, privPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(pubFile, pubPEM, 0o644); err != nil {
		os.Remove(keyFile) // no private key without its public half
		return err
	}
	fmt.Fprintf(stdout, "keyid:       %s\nprivate key: %s (mode 0600; for gate serve --signing-key)\npublic key:  %s (for gate verify --pubkey)\n",
		httpsig.KeyID(pub), keyFile, pubFile)
	return nil
}

// writeNew creates path with mode perm and writes b, failing if path
// exists; the file is synced before it is reported written.
func writeNew(path string, b []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return usagef("--out: %s exists; keygen never overwrites a key", path)
	}
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("keygen: write %s: %w", path, err)
	}
	return nil
}

// loadSigningKey reads the ed25519 private key of gate serve
// --signing-key. Errors describe the file, never its content. A key file
// that every user may read or write is refused: whoever reads it can sign
// as the gate. Group access is allowed, for a key mounted into a container
// with a group (Kubernetes fsGroup) that the gate runs in.
func loadSigningKey(path string) (ed25519.PrivateKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("%s is open to every user (mode %04o); chmod 600 (or 640) it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := httpsig.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// loadPublicKey reads the ed25519 public key of gate verify --pubkey.
func loadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := httpsig.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// signingFromFlags loads gate serve's --signing-key into o. Errors name the
// flag and its variable.
func signingFromFlags(o *gate.Options, path string) error {
	if path == "" {
		if o.SigningKeyID != "" {
			return usagef("--signing-key-id (GATE_SIGNING_KEY_ID): set without --signing-key (GATE_SIGNING_KEY)")
		}
		return nil
	}
	k, err := loadSigningKey(path)
	if err != nil {
		return usagef("--signing-key (GATE_SIGNING_KEY): %v", err)
	}
	for i := 0; i < len(o.SigningKeyID); i++ {
		if c := o.SigningKeyID[i]; c < 0x20 || c > 0x7e {
			return usagef("--signing-key-id (GATE_SIGNING_KEY_ID): printable ASCII only")
		}
	}
	o.SigningKey = k
	return nil
}
