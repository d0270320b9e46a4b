package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// decimalInt is an int flag read as plain decimal digits. pflag's IntVar
// parses with base 0, so `--port 030443` would be octal 12579 and 0x1bb
// hexadecimal: a value that looks like one number and means another.
type decimalInt struct{ p *int }

func (d decimalInt) String() string { return strconv.Itoa(*d.p) }
func (d decimalInt) Type() string   { return "int" }

func (d decimalInt) Set(s string) error {
	// A minus sign stays: the command's range check then says what a
	// negative value should have been.
	digits := strings.TrimPrefix(s, "-")
	if digits == "" {
		return errors.New("empty: give a decimal number")
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return errors.New("not a plain decimal number: write digits only, e.g. 443")
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return errors.New("a leading zero: write the number without it (no octal or other bases)")
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("too large")
	}
	*d.p = v
	return nil
}

// decimalIntVar registers a decimalInt flag.
func decimalIntVar(fl *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fl.Var(decimalInt{p}, name, usage)
}
