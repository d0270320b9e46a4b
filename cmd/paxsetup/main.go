// Command paxsetup sets up and checks a private pack registry for Spectro
// Cloud Palette.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], DefaultFactory()))
}
