package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/certgen"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/fsutil"
	"github.com/paxsetup/paxsetup/internal/hostinfo"
	"github.com/paxsetup/paxsetup/internal/setup"
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
		out = setup.Layout{Dir: opts.Dir}.Certs()
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
	if haveSetup && saved.Node != nil && out == (setup.Layout{Dir: opts.Dir}).Certs() {
		return &answers.FlagError{Flag: "dir", Err: fmt.Errorf("%s is a node joined from the bundle exported on %s: it serves the shared certificate and has no CA key to issue one; renew it there (paxsetup certs gen --force, then paxsetup init --yes), then paxsetup export and paxsetup init --join here, or give --out another folder", opts.Dir, saved.Node.Origin)}
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
	if haveSetup && out == (setup.Layout{Dir: opts.Dir}).Certs() {
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
	var res *certgen.Result
	err = onTerminal(opts.IO.Out, opts.IO.StdoutTTY, "Generating keys ("+describeKeys(newCA, keyType, caKeyType)+")", func() (err error) {
		res, err = certgen.Generate(ctx, certgen.GenerateOptions{
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
		return err
	})
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
			res.Files.CACert(), host)
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
