package setup

import (
	"context"
	"errors"
)

// PortProblem says why port cannot serve the setup in dir whose container is
// name, or returns nil: the setup's own container may hold it.
func PortProblem(ctx context.Context, eng Engine, port int, name, dir string) error {
	own, err := ownContainer(ctx, eng, name, dir)
	if err != nil {
		return err
	}
	return checkPort(ctx, eng, port, own)
}

// FreePort suggests a port for the setup at or after from: 8443 first when
// from is the HTTPS default, since it is the usual alternative.
func FreePort(ctx context.Context, eng Engine, from int, name, dir string) int {
	candidates := []int{}
	if from == 443 {
		candidates = append(candidates, 8443)
	}
	for p := from + 1; p < from+100 && p <= 65535; p++ {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		err := PortProblem(ctx, eng, p, name, dir)
		if err == nil {
			return p
		}
		if !errors.Is(err, ErrPortInUse) {
			break
		}
	}
	return from
}
