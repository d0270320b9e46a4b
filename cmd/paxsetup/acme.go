package main

import (
	"context"

	"github.com/paxsetup/paxsetup/internal/check"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
)

// CheckACME names the checks that explain, from the registry's log, why it
// has no certificate in letsencrypt mode.
const CheckACME = "acme"

// acmeLogLines is how much of the registry's log is searched: an ACME
// failure is logged once, then buried under the handshakes that waited for
// the failed order.
const acmeLogLines = 2000

// logReader is the part of the engine the ACME diagnosis needs.
type logReader interface {
	Logs(ctx context.Context, id string, tail int) (string, error)
}

// acmeChecks are the ACME errors in the log of the setup's registry
// container, each with its cause and fix, in letsencrypt mode; nothing in
// other modes, or when the log cannot be read (the checks that failed
// still say what they saw).
func acmeChecks(ctx context.Context, eng logReader, container string, a config.Answers) []check.Check {
	if a.Mode != config.ModeLetsEncrypt || eng == nil {
		return nil
	}
	logs, err := eng.Logs(ctx, container, acmeLogLines)
	if err != nil {
		return nil
	}
	ca := a.ACMEDirectory
	if ca == "" {
		ca = "Let's Encrypt"
	}
	var out []check.Check
	for _, d := range dockerctl.DiagnoseACME(logs, a.Host, ca) {
		out = append(out, check.Check{Name: CheckACME, Status: check.Fail,
			Detail: "the registry could not get its certificate: " + d.Cause + " (its log: " + d.Evidence + ")",
			Fix:    d.Fix})
	}
	return out
}
