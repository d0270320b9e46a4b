package setup

import "github.com/paxsetup/paxsetup/internal/layout"

// Layout names the files of a setup (see package layout).
type Layout = layout.Layout

// Names of files and folders in the setup's folder.
const (
	CredentialsFile = layout.CredentialsFile
	PaletteFile     = layout.PaletteFile
	TrustLedgerFile = layout.TrustLedgerFile
	JournalFile     = layout.JournalFile
	PreviousDir     = layout.PreviousDir
	StagedDir       = layout.StagedDir
	ClientCertsDir  = layout.ClientCertsDir
)
