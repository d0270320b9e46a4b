package verify

import (
	"context"
	"crypto/tls"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/paxsetup/paxsetup/internal/certgen"
)

// BenchmarkNoticeListening measures how long after a registry starts to
// listen a Run that was already waiting for it succeeds: Run starts first,
// the registry listens after a random 0-1.5 s (a container starting), and
// the delay from listen to Run's return is recorded. Run's whole check list
// is inside the delay, not only noticing the port. Reported as p50, p90 and
// max in milliseconds; run it with a fixed count, e.g.
//
//	go test -run '^$' -bench NoticeListening -benchtime 40x ./internal/verify
func BenchmarkNoticeListening(b *testing.B) {
	ca := newCA(b, "bench CA")
	leaf := issue(b, ca, certgen.LeafOptions{Host: "registry.local", SANs: []string{"127.0.0.1"}})
	users := map[string]string{"admin": "bench-password"}
	for _, scheme := range []string{"http", "https"} {
		b.Run(scheme, func(b *testing.B) {
			var delays []time.Duration
			for b.Loop() {
				addr := "127.0.0.1:" + closedPort(b)
				done := make(chan Report, 1)
				go func() {
					done <- Run(context.Background(), Options{
						Endpoint: scheme + "://" + addr, RootCAs: pool(ca.Cert), SystemRoots: pool(),
						User: "admin", Password: "bench-password", Timeout: 10 * time.Second,
					})
				}()
				time.Sleep(rand.N(1500 * time.Millisecond))
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				listening := time.Now()
				srv := &http.Server{Handler: registry{users: users}, ErrorLog: quietLog}
				if scheme == "https" {
					ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Cert.Raw}, PrivateKey: leaf.Key}}})
				}
				go srv.Serve(ln)
				rep := <-done
				delays = append(delays, time.Since(listening))
				srv.Close()
				if !rep.OK() {
					b.Fatalf("verify failed: %+v", rep.Failed())
				}
			}
			slices.Sort(delays)
			ms := func(q float64) float64 {
				return float64(delays[int(q*float64(len(delays)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.9), "p90-ms")
			b.ReportMetric(ms(1), "max-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
