package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
)

// NewCmdCerts groups the certificate commands.
func NewCmdCerts(f *Factory, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make and check the registry's TLS certificates",
		Long: `certs makes the registry's certificates (gen) and checks any certificate
or chain for what makes clients refuse it (inspect).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(
		NewCmdCertsGen(f, g, nil),
		NewCmdCertsInspect(f, nil),
	)
	return cmd
}

// CertsGenOptions are the inputs of `paxsetup certs gen`.
type CertsGenOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Host       string
	SANs       []string
	Days       int
	KeyType    string
	CAKeyType  string
	Out        string
	SelfSigned bool
	Force      bool
	// Changed says which flags the operator gave.
	Changed func(string) bool
}

// NewCmdCertsGen makes a CA and a server certificate. runF replaces the run
// in flag tests.
func NewCmdCertsGen(f *Factory, g *globalOptions, runF func(context.Context, *CertsGenOptions) error) *cobra.Command {
	opts := &CertsGenOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Make a CA and a server certificate (or one self-signed certificate)",
		Long: `gen makes a local CA (RSA-4096, 10 years, allowed to sign server certificates
only) and a server certificate it signs, for --host and every --san as DNS
and IP subject alternative names, for serverAuth. With --self-signed it makes
one certificate that is its own issuer instead, as the vendor's manual
procedure does, but with SANs.

Files in --out (default <dir>/certs): ca.crt (what clients trust), ca.key
(0600), tls.crt (what the registry serves), tls.key (0600), chain.pem (server
certificate and CA: what Palette asks for). An existing CA is reused, so a
renewed certificate stays trusted; existing server files are replaced only
with --force.

In a setup's folder (--dir holds paxsetup.yaml) --host and --san default to
the setup's, and this machine's own IP addresses are added as init adds them,
so init keeps the new certificate.`,
		Example: `  paxsetup certs gen --host registry.example.com --san 10.0.0.5 --out ./certs
  paxsetup certs gen --force                      # renew the setup's certificate from its CA
  paxsetup certs gen --host 10.0.0.5 --self-signed --out ./self`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			opts.Changed = cmd.Flags().Changed
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runCertsGen(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Host, "host", "", "the registry's DNS name or IP: the certificate's CN and first SAN (default: the setup's host)")
	fl.StringArrayVar(&opts.SANs, "san", nil, "another DNS name (wildcards allowed) or IP clients use, repeatable (default: the setup's)")
	decimalIntVar(fl, &opts.Days, "days", certgen.DefaultLeafDays, "server certificate validity in days (Apple clients accept at most 825)")
	fl.StringVar(&opts.KeyType, "key-type", string(certgen.DefaultKeyType), "server key: "+keyTypeList())
	fl.StringVar(&opts.CAKeyType, "ca-key-type", string(certgen.DefaultKeyType), "key of a new CA: "+keyTypeList())
	fl.StringVar(&opts.Out, "out", "", "folder for the files (default <dir>/certs)")
	fl.BoolVar(&opts.SelfSigned, "self-signed", false, "one self-signed certificate instead of a CA and a certificate it signs")
	fl.BoolVar(&opts.Force, "force", false, "replace an existing server certificate and key (the CA is kept)")
	return cmd
}

func keyTypeList() string {
	var names []string
	for _, k := range certgen.KeyTypes() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

func runCertsGen(ctx context.Context, opts *CertsGenOptions) error {
	changed := opts.Changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	host, sans, days := opts.Host, opts.SANs, opts.Days
	out := opts.Out
	if out == "" {
		out = filepath.Join(opts.Dir, "certs")
	}
	out, err := filepath.Abs(out)
	if err != nil {
		return &answers.FlagError{Flag: "out", Err: err}
	}
	// Only files in the setup folder concern the setup's other writers.
	if inside(opts.Dir, out) {
		lock, err := lockSetup(ctx, opts.Factory, opts.Dir, "certs gen")
		if err != nil {
			return err
		}
		defer lock.Release()
	}

	saved, haveSetup, err := config.LoadIfExists(opts.Dir)
	if err != nil {
		return err
	}
	if haveSetup && !changed("host") {
		host = saved.Host
		if !changed("san") {
			sans = saved.SANs
		}
		if !changed("days") && saved.Days > 0 {
			days = saved.Days
		}
	}
	if host == "" {
		return &answers.FlagError{Flag: "host", Err: fmt.Errorf("no host name and no setup in %s: give the registry's name, e.g. --host registry.example.com", opts.Dir)}
	}
	if err := certgen.ValidateHost(host); err != nil {
		return &answers.FlagError{Flag: "host", Err: err}
	}
	if err := certgen.ValidateSANs(sans); err != nil {
		return &answers.FlagError{Flag: "san", Err: err}
	}
	if err := certgen.ValidateDays(days); err != nil {
		return &answers.FlagError{Flag: "days", Err: err}
	}
	keyType, err := certgen.ParseKeyType(opts.KeyType)
	if err != nil {
		return &answers.FlagError{Flag: "key-type", Err: err}
	}
	caKeyType, err := certgen.ParseKeyType(opts.CAKeyType)
	if err != nil {
		return &answers.FlagError{Flag: "ca-key-type", Err: err}
	}
	// The setup's own certificate carries this machine's addresses, as init
	// makes it, or the next init would refuse to keep it.
	if haveSetup && out == filepath.Join(opts.Dir, "certs") {
		ips, err := hostinfo.IPs()
		if err != nil {
			return fmt.Errorf("list this host's addresses: %w", err)
		}
		var hostIPs []string
		for _, ip := range ips {
			hostIPs = append(hostIPs, ip.String())
		}
		sans = answers.Union(sans, hostIPs)
	}

	newCA := !opts.SelfSigned && !fsutil.Exists(certgen.Files{Dir: out}.CAKey())
	spin := startKeySpinner(opts.IO.Out, opts.IO.StdoutTTY, "Generating keys ("+describeKeys(newCA, keyType, caKeyType)+")")
	res, err := certgen.Generate(ctx, certgen.GenerateOptions{
		Dir:        out,
		Host:       host,
		SANs:       sans,
		Days:       days,
		KeyType:    keyType,
		CAKeyType:  caKeyType,
		SelfSigned: opts.SelfSigned,
		Force:      opts.Force,
		Now:        opts.Factory.Now,
	})
	spin.Stop()
	if err != nil {
		if res != nil && len(res.Written) > 0 {
			return fmt.Errorf("%w (already replaced: %s; run again with --force to finish)", err, strings.Join(res.Written, ", "))
		}
		return err
	}
	printGenerated(opts.IO.Out, res, host)
	return nil
}

// describeKeys says which keys are being made, for the spinner.
func describeKeys(newCA bool, key, caKey certgen.KeyType) string {
	if !newCA {
		return "server " + string(key)
	}
	return "CA " + string(caKey) + ", server " + string(key)
}

var fileRoles = map[string]string{
	"ca.key":    "the CA's key (0600): keep it to renew the server certificate",
	"ca.crt":    "the CA: what clients trust (paxsetup trust installs it)",
	"tls.key":   "the server key (0600)",
	"tls.crt":   "the server certificate: what the registry serves",
	"chain.pem": "server certificate and CA: what Palette asks for",
}

func printGenerated(w io.Writer, res *certgen.Result, host string) {
	bold := color.New(color.Bold).SprintFunc()
	fmt.Fprintf(w, "Wrote %s:\n", res.Files.Dir)
	for _, p := range res.Written {
		role := fileRoles[filepath.Base(p)]
		if res.SelfSigned {
			switch filepath.Base(p) {
			case "ca.crt":
				role = "the certificate again: what clients trust (paxsetup trust installs it)"
			case "chain.pem":
				role = "the certificate again: what Palette asks for"
			}
		}
		fmt.Fprintf(w, "  %-10s %s\n", filepath.Base(p), role)
	}
	leaf := res.Leaf.Cert
	if res.CA != nil {
		state := "new"
		if res.CAReused {
			state = "reused"
		}
		fmt.Fprintf(w, "%s      %s (%s), valid until %s\n", bold("CA"), res.CA.Cert.Subject.CommonName, state, res.CA.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	label := "Server"
	if res.SelfSigned {
		label = "Self-signed"
	}
	kind, bits := certgen.KeyDescription(leaf.PublicKey)
	fmt.Fprintf(w, "%s  %s, %s %d, valid %d days until %s\n", bold(label), leaf.Subject.CommonName, kind, bits,
		int(leaf.NotAfter.Sub(leaf.NotBefore).Hours()/24), leaf.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(w, "        SANs: %s\n", strings.Join(sanList(leaf.DNSNames, leaf.IPAddresses), ", "))
	printFindings(w, res.Findings)
	if res.CA != nil && !res.CAReused || res.SelfSigned {
		fmt.Fprintf(w, "Clients must trust the new %s: paxsetup trust --host %s installs it for Docker, the spectro CLI and this host.\n",
			filepath.Join(res.Files.Dir, "ca.crt"), host)
	}
}

func sanList(dns []string, ips []net.IP) []string {
	var out []string
	for _, d := range dns {
		out = append(out, "DNS:"+d)
	}
	for _, ip := range ips {
		out = append(out, "IP:"+ip.String())
	}
	if len(out) == 0 {
		return []string{"none (CN only)"}
	}
	return out
}

func printFindings(w io.Writer, findings []certgen.Finding) {
	red := color.New(color.FgRed, color.Bold).SprintFunc()
	yellow := color.New(color.FgYellow).SprintFunc()
	for _, f := range findings {
		sev := yellow("warning")
		if f.Severity == certgen.SeverityError {
			sev = red("error  ")
		}
		fmt.Fprintf(w, "%s %s: %s\n", sev, f.Code, f.Message)
	}
}

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
			if opts.Output != "text" && opts.Output != "json" {
				return &answers.FlagError{Flag: "output", Err: fmt.Errorf("%q: use text or json", opts.Output)}
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
	fl.StringVar(&opts.Output, "output", "text", "text or json")
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

	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printInspect(opts.IO.Out, rep)
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

// keySpinner shows, on a terminal, that something slow is under way; elsewhere
// it prints nothing, so logs and pipes get plain output.
type keySpinner struct {
	w    io.Writer
	msg  string
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var keySpinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func startKeySpinner(w io.Writer, terminal bool, msg string) *keySpinner {
	s := &keySpinner{w: w, msg: msg, stop: make(chan struct{}), done: make(chan struct{})}
	if !terminal {
		close(s.done)
		return s
	}
	go s.run()
	return s
}

func (s *keySpinner) run() {
	defer close(s.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		fmt.Fprintf(s.w, "\r%s %s", keySpinnerFrames[i%len(keySpinnerFrames)], s.msg)
		select {
		case <-s.stop:
			// Blank the line so the next output starts clean.
			fmt.Fprintf(s.w, "\r%s\r", strings.Repeat(" ", len([]rune(s.msg))+2))
			return
		case <-tick.C:
		}
	}
}

// Stop clears the spinner's line and returns once nothing more is written.
func (s *keySpinner) Stop() {
	s.once.Do(func() {
		select {
		case <-s.done:
		default:
			close(s.stop)
			<-s.done
		}
	})
}
