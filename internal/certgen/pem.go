package certgen

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/paxsetup/paxsetup/internal/fsutil"
)

// ParseCertificatesPEM decodes every CERTIFICATE block in data, in file
// order, for reading chains and CA bundles. Other PEM blocks are skipped; no
// certificate at all is an error.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}

// LoadCertPool makes a pool of only the certificates in the PEM file at path
// (not the system's), for clients that must trust exactly the setup's CA.
func LoadCertPool(path string) (*x509.CertPool, error) {
	certs, err := readCertificates(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// errEncryptedKey: the registry reads its key without a passphrase, and
// paxsetup never asks for one.
var errEncryptedKey = errors.New("the key is encrypted: decrypt it first (openssl pkey -in KEY -out KEY.plain)")

func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := fsutil.ReadRegularFile(path, fsutil.MaxPEMFile)
	if err != nil {
		return nil, err // an *fs.PathError: it names the operation and path.
	}
	certs, err := ParseCertificatesPEM(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return certs, nil
}

func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := fsutil.ReadRegularFile(path, fsutil.MaxPEMFile)
	if err != nil {
		return nil, err // an *fs.PathError: it names the operation and path.
	}
	key, err := parsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return key, nil
}

// parsePrivateKeyPEM reads the first private key in data. Besides PKCS#8,
// which paxsetup writes, it takes the PKCS#1 and SEC 1 forms that older
// openssl commands write, so an operator's own CA can be reused.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key block found")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errEncryptedKey
			}
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, errEncryptedKey
			}
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errEncryptedKey
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s block: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s block: a %T cannot sign", block.Type, key)
		}
		return signer, nil
	}
}
