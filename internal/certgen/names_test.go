package certgen

import (
	"strings"
	"testing"
)

func TestValidateHost(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		host    string
		wantErr string
	}{
		{"dns name", "registry.local", ""},
		{"single label", "localhost", ""},
		{"mixed case", "Registry.Example.COM", ""},
		{"label starting with a digit", "1reg.example.com", ""},
		{"hyphen inside", "my-registry.local", ""},
		{"63-character label", label63 + ".local", ""},
		{"ipv4", "10.0.0.5", ""},
		{"ipv6", "2001:db8::5", ""},
		{"ipv6 loopback", "::1", ""},
		{"empty", "", "empty"},
		{"underscore", "reg_1.local", `"reg_1.local" is not a valid DNS name: "_" is not allowed (use letters, digits, hyphens and dots)`},
		{"space", "my host", `"my host" is not a valid DNS name: " " is not allowed`},
		{"wildcard", "*.example.com", "a certificate's CN must be one host (wildcards may go in --san)"},
		{"64-character label", strings.Repeat("a", 64) + ".local", "is 64 characters long (at most 63)"},
		{"name over 253 characters", strings.Repeat(label63+".", 4) + "local", "is 261 characters long (at most 253)"},
		{"leading hyphen", "-reg.local", `label "-reg" starts with a hyphen`},
		{"trailing hyphen", "reg-.local", `label "reg-" ends with a hyphen`},
		{"empty label", "reg..local", "empty label"},
		{"leading dot", ".reg.local", "empty label"},
		{"trailing dot", "reg.local.", `ends with "."`},
		{"url", "https://reg.local", "drop the scheme (https://)"},
		{"host and port", "reg.local:5000", "drop the port (:5000)"},
		{"bracketed ipv6", "[::1]", "write it without brackets (::1)"},
		{"bad ipv4", "10.0.0.300", `"10.0.0.300" is not a valid IPv4 address`},
		{"ipv6 with zone", "fe80::1%eth0", `"fe80::1%eth0" is not a valid IPv6 address`},
		{"non-ascii", "régistry.local", "punycode"},
		{"slash", "reg.local/v2", `"/" is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateHost(tt.host), tt.wantErr)
		})
	}
}

func TestValidateSAN(t *testing.T) {
	tests := []struct {
		name    string
		san     string
		wantErr string
	}{
		{"dns name", "registry.example.com", ""},
		{"wildcard", "*.example.com", ""},
		{"wildcard over one label", "*.local", ""},
		{"ipv4", "192.168.1.20", ""},
		{"ipv6", "fd00::20", ""},
		{"empty", "", "empty"},
		{"underscore", "reg_1.local", `"reg_1.local" is not a valid DNS name: "_" is not allowed`},
		{"underscore after wildcard", "*.reg_1.local", `"*.reg_1.local" is not a valid DNS name: "_" is not allowed`},
		{"bare star", "*", `"*" is allowed only as the whole first label`},
		{"partial wildcard label", "reg*.example.com", `"*" is allowed only as the whole first label`},
		{"wildcard not first", "reg.*.example.com", `"*" is allowed only as the whole first label`},
		{"two wildcards", "*.*.example.com", `"*" is allowed only as the whole first label`},
		{"wildcard over an ip", "*.10.0.0.1", "a wildcard covers DNS names, not IP addresses"},
		{"wildcard and nothing", "*.", "nothing follows the wildcard"},
		{"space", "a b", `" " is not allowed`},
		{"too-long label after wildcard", "*." + strings.Repeat("x", 64), "is 64 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, ValidateSAN(tt.san), tt.wantErr)
		})
	}
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    KeyType
		wantErr string
	}{
		{"empty means the default", "", RSA4096, ""},
		{"rsa2048", "rsa2048", RSA2048, ""},
		{"rsa3072", "rsa3072", RSA3072, ""},
		{"rsa4096", "rsa4096", RSA4096, ""},
		{"ecdsa", "ecdsa-p256", ECDSAP256, ""},
		{"case and spaces", " RSA2048 ", RSA2048, ""},
		{"unknown", "ed25519", "", `unknown key type "ed25519" (use one of: rsa2048, rsa3072, rsa4096, ecdsa-p256)`},
		{"rsa1024", "rsa1024", "", "use one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeyType(tt.in)
			checkErr(t, err, tt.wantErr)
			if got != tt.want {
				t.Errorf("ParseKeyType(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
