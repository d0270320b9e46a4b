package render

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// DefaultS3Region is the region written when only an endpoint is given: the
// S3 client signs every request with a region, and us-east-1 is both the
// AWS SDK's default and MinIO's.
const DefaultS3Region = "us-east-1"

// S3 is S3 or MinIO storage.
type S3 struct {
	Region, Bucket, RootDirectory string
	// RegionEndpoint is the URL of an S3-compatible service such as MinIO;
	// empty means AWS.
	RegionEndpoint string
	Encrypt        bool
	// Insecure turns off TLS to the endpoint (the driver's secure: false).
	// The zero value keeps TLS on.
	Insecure bool
	// Redirect lets the registry answer a blob download with a redirect to
	// a presigned URL at the endpoint, which the client must then reach
	// itself. Off, the registry streams every blob (storage.redirect.disable).
	Redirect bool
	// AccessKey and SecretKey are secrets: they only ever go into the 0600
	// config file. Both empty means the driver's own credential chain (an
	// instance role, say).
	AccessKey, SecretKey string
}

func (s S3) validate() error {
	if err := ValidateBucket(s.Bucket); err != nil {
		return &ValueError{Flag: "s3-bucket", Err: err}
	}
	if s.Region == "" && s.RegionEndpoint == "" {
		return valueErr("s3-region", "no region: give the bucket's AWS region, e.g. --s3-region eu-west-1 (or --s3-regionendpoint for MinIO)")
	}
	if s.Region != "" {
		if err := ValidateRegion(s.Region); err != nil {
			return &ValueError{Flag: "s3-region", Err: err}
		}
	}
	if s.RegionEndpoint != "" {
		if err := ValidateServiceURL(s.RegionEndpoint, true); err != nil {
			return &ValueError{Flag: "s3-regionendpoint", Err: err}
		}
	}
	if s.RootDirectory != "" {
		if err := ValidateRootDirectory(s.RootDirectory); err != nil {
			return &ValueError{Flag: "s3-rootdirectory", Err: err}
		}
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		return valueErr("s3-credentials-file", "only one of the access key and the secret key is given: give both, or neither to use the host's own AWS credentials (an instance role)")
	}
	for name, v := range map[string]string{"access key": s.AccessKey, "secret key": s.SecretKey} {
		if err := printable(v); err != nil {
			return valueErr("s3-credentials-file", "the S3 %s %w", name, err)
		}
	}
	return nil
}

// ValidateBucket checks an S3 bucket name against the AWS naming rules,
// which MinIO applies too: 3 to 63 lowercase letters, digits, dots and
// hyphens, starting and ending with a letter or digit, not shaped like an IP.
func ValidateBucket(bucket string) error {
	if bucket == "" {
		return errors.New("no bucket: give the S3 bucket that holds the packs, e.g. --s3-bucket packs")
	}
	bad := func(why string) error {
		return fmt.Errorf("%q is not a valid S3 bucket name: %s", bucket, why)
	}
	if len(bucket) < 3 || len(bucket) > 63 {
		return bad(fmt.Sprintf("it is %d characters long (3 to 63)", len(bucket)))
	}
	for _, r := range bucket {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad(fmt.Sprintf("%q is not allowed (use lowercase letters, digits, '.' and '-')", r))
		}
	}
	if !isAlnum(bucket[0]) || !isAlnum(bucket[len(bucket)-1]) {
		return bad("it must start and end with a letter or digit")
	}
	if strings.Contains(bucket, "..") {
		return bad("it has two dots in a row")
	}
	if net.ParseIP(bucket) != nil {
		return bad("it is shaped like an IP address")
	}
	return nil
}

func isAlnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// ValidateRegion checks an AWS region name such as eu-west-1. The registry's
// driver checks AWS regions against its own list, which differs between
// releases, so only the shape is checked here.
func ValidateRegion(region string) error {
	if len(region) > 64 {
		return fmt.Errorf("region %.20q... is %d characters long; AWS regions look like eu-west-1", region, len(region))
	}
	for _, r := range region {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("region %q contains %q; AWS regions are lowercase letters, digits and hyphens, like eu-west-1", region, r)
		}
	}
	if region == "" || region[0] == '-' || region[len(region)-1] == '-' {
		return fmt.Errorf("region %q is not a region name like eu-west-1", region)
	}
	return nil
}

// ValidateRootDirectory checks the S3 key prefix for the packs: an absolute
// path such as /registry, without control characters or "." and ".."
// segments, which S3 would keep as literal key parts.
func ValidateRootDirectory(dir string) error {
	if !strings.HasPrefix(dir, "/") {
		return fmt.Errorf("%q must start with /, e.g. /registry", dir)
	}
	if err := printable(dir); err != nil {
		return fmt.Errorf("%q %w", dir, err)
	}
	if len(dir) > 512 {
		return fmt.Errorf("%.20q... is %d bytes long; keep the prefix under 512", dir, len(dir))
	}
	for seg := range strings.SplitSeq(strings.Trim(dir, "/"), "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%q has a %q segment; write the path without it", dir, seg)
		}
	}
	if strings.Contains(dir, "//") {
		return fmt.Errorf("%q has an empty segment (//)", dir)
	}
	return nil
}
