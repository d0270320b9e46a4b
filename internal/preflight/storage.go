package preflight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/s3probe"
	"github.com/paxsetup/paxsetup/internal/secretenv"
)

// Names of the S3 checks.
const (
	CheckS3Bucket    = "s3 bucket"
	CheckS3Downloads = "s3 downloads"
)

// S3 is the bucket the registry is about to use (--storage s3).
type S3 struct {
	Target s3probe.Target
	// Redirect says clients download layers from the endpoint themselves
	// (--s3-redirect).
	Redirect bool
	// Network is the Docker network the registry joins (--network), where
	// an endpoint name this host cannot resolve may still resolve.
	Network string
}

// flagOf names the init flag that fixes a failed S3 bucket check.
func flagOf(step s3probe.Step) string {
	switch step {
	case s3probe.StepCredentials, s3probe.StepList, s3probe.StepWrite:
		return "s3-credentials-file"
	case s3probe.StepBucket:
		return "s3-bucket"
	case s3probe.StepRegion:
		return "s3-region"
	}
	return "s3-regionendpoint"
}

// storageChecks try the bucket the way the registry will use it, from this
// host, and say who downloads the layers.
func (e *env) storageChecks(ctx context.Context) []Check {
	s := e.opts.S3
	if e.opts.Storage != "s3" || s == nil {
		return nil
	}
	return []Check{e.checkS3Bucket(ctx, s), checkS3Downloads(s)}
}

func (e *env) checkS3Bucket(ctx context.Context, s *S3) Check {
	t := s.Target
	where := "s3://" + t.Bucket + t.Prefix
	if t.Endpoint != "" {
		where += " at " + t.Endpoint
	}
	if t.AccessKey == "" {
		return Check{Name: CheckS3Bucket, Status: Warn,
			Detail: where + " not tried: no S3 keys were given, so the registry will use this host's own AWS credentials (an instance role), which paxsetup does not read",
			Fix:    "give the keys with --s3-credentials-file (or " + secretenv.S3AccessKey + " and " + secretenv.S3SecretKey + ") to have them checked"}
	}
	if host := endpointHost(t.Endpoint); host != "" && net.ParseIP(host) == nil && s.Network != "" {
		if _, err := e.d.LookupHost(ctx, host); err != nil {
			return Check{Name: CheckS3Bucket, Status: Warn,
				Detail: fmt.Sprintf("%s not tried: %s does not resolve on this host; the registry looks it up on Docker network %s", where, host, s.Network),
				Fix:    "none needed if " + host + " is a container on " + s.Network + "; init's verification shows whether the registry can store packs"}
		}
	}
	res, err := e.d.ProbeS3(ctx, t)
	if err == nil {
		return Check{Name: CheckS3Bucket, Status: OK,
			Detail: fmt.Sprintf("%s: the keys list, write and delete under the prefix (%s)", where, res.Took.Round(1e6))}
	}
	var pe *s3probe.Error
	if !errors.As(err, &pe) {
		return Check{Name: CheckS3Bucket, Status: Fail, Detail: where + ": " + err.Error(), Fix: "check --s3-regionendpoint", Flag: "s3-regionendpoint"}
	}
	c := Check{Name: CheckS3Bucket, Status: Fail, Flag: flagOf(pe.Step)}
	switch pe.Step {
	case s3probe.StepReach:
		c.Detail = fmt.Sprintf("cannot reach %s: %v", where, err)
		c.Fix = "check --s3-regionendpoint (scheme, host and port) and that this host reaches it"
		if ctx.Err() != nil {
			c.Detail = fmt.Sprintf("%s did not answer within %s: %v", where, checkTimeout, err)
		}
	case s3probe.StepCredentials:
		c.Detail = fmt.Sprintf("%s refused the keys: %v", where, err)
		c.Fix = "give the bucket's access key and secret key with --s3-credentials-file (or " + secretenv.S3AccessKey + " and " + secretenv.S3SecretKey + ")"
	case s3probe.StepBucket:
		c.Detail = fmt.Sprintf("no bucket %q: %v", t.Bucket, err)
		c.Fix = "create the bucket first (the registry does not), or correct --s3-bucket"
	case s3probe.StepRegion:
		c.Detail = fmt.Sprintf("%s is not in region %s: %v", where, t.Region, err)
		c.Fix = "give the bucket's own region with --s3-region"
		if pe.Region != "" {
			c.Fix = "give --s3-region " + pe.Region
		}
	case s3probe.StepList:
		c.Detail = fmt.Sprintf("the keys may not list %s: %v", where, err)
		c.Fix = "allow the keys s3:ListBucket on the bucket (the registry lists to find repositories and tags)"
	case s3probe.StepWrite:
		c.Detail = fmt.Sprintf("the keys may not write to %s: %v", where, err)
		c.Fix = "allow the keys s3:PutObject, s3:GetObject and s3:DeleteObject under the prefix, and the multipart upload actions"
	}
	return c
}

// checkS3Downloads says who fetches the layers: the registry, or each client
// from the S3 endpoint.
func checkS3Downloads(s *S3) Check {
	if !s.Redirect {
		return Check{Name: CheckS3Downloads, Status: OK,
			Detail: "the registry serves the layers itself (storage.redirect.disable): clients need to reach only the registry"}
	}
	to := s.Target.Endpoint
	if to == "" {
		to = "S3 in " + s.Target.Region
	}
	return Check{Name: CheckS3Downloads, Status: Warn,
		Detail: "layer downloads are redirected to " + to + " (--s3-redirect): Palette and every client must reach it themselves, or their pulls fail",
		Fix:    "drop --s3-redirect unless every client reaches " + to}
}

func endpointHost(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return strings.Trim(u.Hostname(), "[]")
}

// s3FromAnswers is the bucket the answers name, without keys: the caller
// adds them (they are never saved with the answers).
func s3FromAnswers(a config.Answers) *S3 {
	if a.Storage != "s3" || a.S3 == nil {
		return nil
	}
	return &S3{
		Target: s3probe.Target{
			Endpoint: a.S3.RegionEndpoint, Region: a.S3.Region, Bucket: a.S3.Bucket, Prefix: a.S3.RootDirectory,
		},
		Redirect: a.S3.Redirect,
		Network:  a.Network,
	}
}
