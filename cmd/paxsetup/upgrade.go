package main

import (
	"context"
	"fmt"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/paxsetup/paxsetup/internal/answers"
	"github.com/paxsetup/paxsetup/internal/config"
	"github.com/paxsetup/paxsetup/internal/dockerctl"
	"github.com/paxsetup/paxsetup/internal/setup"
)

// UpgradeOptions are the inputs of `paxsetup upgrade`.
type UpgradeOptions struct {
	IO      *IOStreams
	Factory *Factory
	Dir     string

	Image        string
	Pull         string
	ImageArchive string
	Timeout      time.Duration
	Changed      func(string) bool
}

// NewCmdUpgrade moves the registry to another image, rolling back on
// failure. runF replaces the run in flag tests.
func NewCmdUpgrade(f *Factory, g *globalOptions, runF func(context.Context, *UpgradeOptions) error) *cobra.Command {
	opts := &UpgradeOptions{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "upgrade",
		Short: "Move the registry to a new image; the old one runs again if the new one fails",
		Long: `upgrade replaces the registry container with one from a new image, keeping
every other answer of the setup in --dir and every pack in data/.

The old registry is stopped and set aside, not removed, until the new one
answers /health and the login checks. If the new one exits, never answers or
fails a check, it is removed, the old one starts again, and the new one's
last log lines say why.

Without --image, upgrade pulls the setup's image reference again
(--pull always), for a tag that has moved. A re-run of init never does that
on its own: paxsetup.yaml records the image ID, so an upgrade is always
asked for.`,
		Example: `  paxsetup upgrade --image us-docker.pkg.dev/palette-images/palette/spectro-registry:4.8.0
  paxsetup upgrade --image us-docker.pkg.dev/palette-images/palette/spectro-registry:4.8.0 --image-archive spectro-registry-4.8.0.tar.gz
  paxsetup upgrade`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = g.Dir
			opts.Changed = cmd.Flags().Changed
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runUpgrade(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Image, "image", "", "the new registry image (default: the setup's, pulled again)")
	fl.StringVar(&opts.Pull, "pull", config.DefaultPull, "when to pull the image: always, missing or never (always without --image)")
	fl.StringVar(&opts.ImageArchive, "image-archive", "", "load the new image from a `docker save` tarball (plain or gzip) first; it must hold --image")
	fl.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "how long to wait for the new registry to answer")
	return cmd
}

func runUpgrade(ctx context.Context, opts *UpgradeOptions) error {
	f := opts.Factory
	lock, err := lockSetup(ctx, f, opts.Dir, "upgrade")
	if err != nil {
		return err
	}
	defer lock.Release()
	saved, err := setup.Load(opts.Dir)
	if err != nil {
		return err
	}
	flags := config.Answers{Image: opts.Image, Pull: opts.Pull, ImageArchive: opts.ImageArchive}
	changed := opts.Changed
	if !opts.Changed("image") && !opts.Changed("pull") && opts.ImageArchive == "" {
		// The same reference, asked for again: only a pull can find that
		// its tag has moved.
		flags.Pull = string(dockerctl.PullAlways)
		changed = func(flag string) bool { return flag == "pull" || opts.Changed(flag) }
	}
	a := answers.Merge(answers.Sources{Flags: flags, Changed: changed, Saved: &saved})
	if err := answers.Validate(a); err != nil {
		return err
	}

	in, err := readRunInputs(f, a)
	if err != nil {
		return err
	}

	eng, err := f.Docker(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()

	out := opts.IO.Out
	from := saved.Image
	if saved.ImageID != "" {
		from += " (" + shortID(saved.ImageID) + ")"
	}
	fmt.Fprintf(out, "Upgrading %s from %s to %s\n", a.Endpoint(), from, a.Image)
	res, err := setup.Run(ctx, eng, setup.Options{
		Dir:            opts.Dir,
		Answers:        a,
		AdminPassword:  in.admin,
		ReaderPassword: in.reader,
		HostIPs:        in.hostIPs,
		Out:            out,
		HealthTimeout:  opts.Timeout,
		Now:            f.Now,
		S3Keys:         in.s3Keys,
		Upgrade:        true,
	})
	if err != nil {
		return err
	}
	now, err := config.Load(opts.Dir)
	if err != nil {
		return err
	}
	green := color.New(color.FgGreen, color.Bold).SprintFunc()
	switch res.ContainerAction {
	case "unchanged", "started":
		fmt.Fprintf(out, "\n%s the registry already runs %s (%s): nothing to upgrade.\n", green("Up to date:"), a.Image, shortID(now.ImageID))
	default:
		fmt.Fprintf(out, "\n%s the registry runs %s (%s), checked; packs in %s kept.\n", green("Upgraded:"), a.Image, shortID(now.ImageID), setup.Layout{Dir: opts.Dir}.Data())
	}
	return nil
}
