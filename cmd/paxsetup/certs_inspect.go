package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/spf13/cobra"
)

// CertsInspectOptions are the inputs of `paxsetup certs inspect`.
type CertsInspectOptions struct {
	IO      *IOStreams
	Factory *Factory

	File    string
	Hosts   []string
	KeyFile string
	CAFile  string
	Output  string
}

// NewCmdCertsInspect shows and lints a certificate or chain. runF replaces
// the run in flag tests.
func NewCmdCertsInspect(f *Factory, runF func(context.Context, *CertsInspectOptions) error) *cobra.Command {
	opts := &CertsInspectOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a certificate or chain and check it for what makes clients refuse it",
		Long: `inspect shows each certificate in FILE (PEM: the server certificate first,
then any intermediates and the root): subject, issuer, SANs, validity and
days left, key, and usages. Then it checks the chain as the registry's
clients will.

Errors: no SANs (CN only), a --host not covered, no serverAuth usage,
expired or not yet valid, an RSA key under 2048 bits, a --key that is not
the certificate's, a chain out of order or incomplete. Warnings: valid for
more than 825 days, less than 30 days left, no extended key usage.

The chain is checked against --ca-file when given, else against a root at
the end of FILE; with neither, only its order is checked.

Exit codes: 0 no errors (warnings allowed); 3 errors found; 1 FILE cannot be
read; 2 invalid flags.`,
		Example: `  paxsetup certs inspect /var/lib/paxsetup/certs/chain.pem
  paxsetup certs inspect server.crt --key server.key --host registry.example.com --host 10.0.0.5
  paxsetup certs inspect server.crt --ca-file corp-root.pem --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			for _, h := range opts.Hosts {
				if err := certgen.ValidateSAN(h); err != nil {
					return &answers.FlagError{Flag: "host", Err: err}
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCertsInspect(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Hosts, "host", nil, "a name or IP clients use, which the certificate must cover; repeatable")
	fl.StringVar(&opts.KeyFile, "key", "", "the private key served with the certificate, which must match it")
	fl.StringVar(&opts.CAFile, "ca-file", "", "PEM file of the CAs clients trust, which the chain must reach")
	addOutputFlag(fl, &opts.Output)
	return cmd
}

// inspectReport is `certs inspect --output json`.
type inspectReport struct {
	File         string             `json:"file"`
	Certificates []certgen.CertInfo `json:"certificates"`
	Findings     []certgen.Finding  `json:"findings"`
	OK           bool               `json:"ok"`
}

func runCertsInspect(ctx context.Context, opts *CertsInspectOptions) error {
	chain, err := certgen.LoadCertificates(opts.File)
	if errors.Is(err, fsutil.ErrNotRegular) || errors.Is(err, fsutil.ErrTooLarge) {
		// The argument itself is wrong, as a bad flag value is.
		return &usageError{err: fmt.Errorf("FILE: %w", err)}
	}
	if err != nil {
		return fmt.Errorf("%w: give a PEM file of certificates, the server certificate first", err)
	}
	lo := certgen.LintOptions{Hosts: opts.Hosts, Now: opts.Factory.Now()}
	if opts.KeyFile != "" {
		key, err := certgen.LoadPrivateKey(opts.KeyFile)
		if err != nil {
			return &answers.FlagError{Flag: "key", Err: err}
		}
		lo.Key = key.Public()
	}
	if opts.CAFile != "" {
		if lo.Roots, err = certgen.LoadCertPool(opts.CAFile); err != nil {
			return &answers.FlagError{Flag: "ca-file", Err: err}
		}
	}
	findings := certgen.Lint(chain, lo)
	rep := inspectReport{File: opts.File, Findings: findings, OK: !certgen.HasErrors(findings)}
	if rep.Findings == nil {
		rep.Findings = []certgen.Finding{}
	}
	for _, c := range chain {
		rep.Certificates = append(rep.Certificates, certgen.Describe(c, lo.Now))
	}

	if err := writeOutput(opts.IO.Out, opts.Output, rep, func() { printInspect(opts.IO.Out, rep) }); err != nil {
		return err
	}
	if !rep.OK {
		return errCheckFailed
	}
	return nil
}

func printInspect(w io.Writer, rep inspectReport) {
	n := len(rep.Certificates)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "%s: %d certificate%s\n", rep.File, n, plural)
	for i, c := range rep.Certificates {
		fmt.Fprintf(w, "\n[%d] %s\n", i+1, certRole(i, c))
		row := func(k, v string) { fmt.Fprintf(w, "    %-11s %s\n", k, v) }
		row("Subject", c.Subject)
		row("Issuer", c.Issuer)
		var ips []net.IP
		for _, s := range c.IPAddresses {
			ips = append(ips, net.ParseIP(s))
		}
		sans := strings.Join(sanList(c.DNSNames, ips), ", ")
		if i > 0 && len(ips)+len(c.DNSNames) == 0 {
			sans = "none"
		}
		row("SANs", sans)
		left := fmt.Sprintf("%d days left", c.DaysLeft)
		if c.DaysLeft < 0 {
			left = fmt.Sprintf("expired %d days ago", -c.DaysLeft)
		}
		row("Validity", fmt.Sprintf("%s to %s (%d days; %s)", c.NotBefore.Format("2006-01-02 15:04 UTC"), c.NotAfter.Format("2006-01-02 15:04 UTC"), c.ValidityDays, left))
		row("Key", fmt.Sprintf("%s %d bits", c.KeyType, c.KeyBits))
		row("Key usage", orNone(c.KeyUsage))
		row("Ext. usage", orNone(c.ExtKeyUsage))
		row("Serial", c.Serial)
		row("SHA-256", c.SHA256)
	}
	fmt.Fprintln(w)
	if len(rep.Findings) == 0 {
		fmt.Fprintln(w, "No problems found.")
		return
	}
	printFindings(w, rep.Findings)
	errs := 0
	for _, f := range rep.Findings {
		if f.Severity == certgen.SeverityError {
			errs++
		}
	}
	fmt.Fprintf(w, "%d error(s), %d warning(s).\n", errs, len(rep.Findings)-errs)
}

func certRole(i int, c certgen.CertInfo) string {
	switch {
	case i == 0 && c.SelfSigned:
		return "server certificate (self-signed)"
	case i == 0:
		return "server certificate"
	case c.IsCA && c.SelfSigned:
		return "root CA"
	case c.IsCA:
		return "intermediate CA"
	}
	return "certificate (not a CA)"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
