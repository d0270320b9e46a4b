package certgen

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkGenerate is what `paxsetup certs gen` does by default: a new
// RSA-4096 CA and an RSA-4096 server certificate, written to a fresh
// folder. scripts/bench-certs compares the command with openssl.
func BenchmarkGenerate(b *testing.B) {
	root := b.TempDir()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		_, err := Generate(ctx, GenerateOptions{
			Dir:  filepath.Join(root, strconv.Itoa(i)),
			Host: "registry.example.com",
			SANs: []string{"10.0.0.5"},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateReusedCA is a renewal: the CA is there, only the
// RSA-4096 server key and certificate are made.
func BenchmarkGenerateReusedCA(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	opts := GenerateOptions{Dir: dir, Host: "registry.example.com", SANs: []string{"10.0.0.5"}}
	if _, err := Generate(ctx, opts); err != nil {
		b.Fatal(err)
	}
	opts.Force = true
	for b.Loop() {
		if _, err := Generate(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLint checks a generated chain, as `init --mode custom` does
// before it starts anything.
func BenchmarkLint(b *testing.B) {
	dir := b.TempDir()
	res, err := Generate(context.Background(), GenerateOptions{Dir: dir, Host: "registry.example.com", SANs: []string{"10.0.0.5"}, KeyType: ECDSAP256, CAKeyType: ECDSAP256})
	if err != nil {
		b.Fatal(err)
	}
	chain, err := LoadCertificates(res.Files.Chain())
	if err != nil {
		b.Fatal(err)
	}
	opts := LintOptions{Hosts: []string{"registry.example.com", "10.0.0.5"}, Key: res.Leaf.Key.Public()}
	for b.Loop() {
		if f := Lint(chain, opts); HasErrors(f) {
			b.Fatal(f)
		}
	}
}
