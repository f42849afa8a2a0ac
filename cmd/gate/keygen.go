package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/quannex/gameday/cmd/internal/cli"
	"github.com/quannex/gameday/gate"
	"github.com/quannex/gameday/gate/httpsig"
)

const keygenHelp = `Write an ed25519 key pair for gate serve --signing-key.

Example: gate keygen --out /etc/gate/signing

Writes a new ed25519 key pair for signing the gate's responses:

  PREFIX.key  the private key, PKCS#8 PEM, mode 0600: give it to
              gate serve --signing-key (GATE_SIGNING_KEY); keep it secret
  PREFIX.pub  the public key, PKIX PEM: give it to whoever verifies,
              gate verify --pubkey PREFIX.pub URL

and prints the keyid (the first 16 hex digits of the SHA-256 of the public
key), which the gate puts in every signature. It never overwrites a file and
never prints the private key. openssl genpkey -algorithm ed25519 makes an
equivalent private key.

Exit 0: written; 2: usage (no --out, a file exists); 3: could not write.`

// addKeygen declares gate keygen.
func addKeygen(app *cli.App, stdout io.Writer) func() error {
	cmd := app.Cmd(nil, "keygen", keygenHelp)
	out := cmd.Flag("out", "path prefix of the key files: writes PREFIX.key and PREFIX.pub").PlaceHolder("PREFIX").String()
	return func() error { return keygen(*out, stdout) }
}

func keygen(out string, stdout io.Writer) error {
	if out == "" {
		return usagef("--out: required, e.g. gate keygen --out /etc/gate/signing")
	}
	keyFile, pubFile := out+".key", out+".pub"
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
func signingFromFlags(o *gate.Options, path string, named func(string) string) error {
	if path == "" {
		if o.SigningKeyID != "" {
			return usagef("%s: set without --signing-key (GATE_SIGNING_KEY)", named("signing-key-id"))
		}
		return nil
	}
	k, err := loadSigningKey(path)
	if err != nil {
		return usagef("%s: %v", named("signing-key"), err)
	}
	for i := 0; i < len(o.SigningKeyID); i++ {
		if c := o.SigningKeyID[i]; c < 0x20 || c > 0x7e {
			return usagef("%s: printable ASCII only", named("signing-key-id"))
		}
	}
	o.SigningKey = k
	return nil
}
