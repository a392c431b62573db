// Package stix is Setu's STIX 2.1 object model: it decodes and validates
// individual STIX objects, frames streams of them, computes the deterministic
// identifiers of cyber-observable objects and knows the built-in TLP markings.
//
// Contract:
//
//   - [Parse] takes the bytes of one object and either returns an [*Object]
//     whose Canonical field is the RFC 8785 serialization of exactly what was
//     received (unknown and custom properties, extensions and unknown object
//     types are kept, never rewritten), or an error that is a
//     [*ValidationError] or [ValidationErrors]. Every fault names the object's
//     id (when it could be read) and a JSON path such as
//     `$.external_references[2].source_name`.
//   - JSON is read strictly: duplicate member names, invalid UTF-8 and
//     integers beyond ±2^53 are rejected, because two peers that read such
//     input differently would disagree on what was shared.
//   - The STIX 2.1 MUSTs are enforced for the objects the specification
//     defines; open vocabularies are accepted as open. Whether referenced
//     objects exist is not checked here: that is the store's business.
//   - Findings that the specification allows but that a consumer should know
//     about (an SCO whose id is not its deterministic one) are returned as
//     Object.Warnings; the object is accepted unchanged.
//   - [Reader] frames bundles, JSON arrays, NDJSON and single objects without
//     loading the stream whole. Framing is lenient so that one bad object is
//     rejected by Parse on its own and does not stop the stream.
//
// Not checked here: the syntax of indicator patterns (package pattern owns
// it), the formats of free-text values the specification describes but a
// consumer cannot verify reliably (URLs, e-mail addresses, domain names,
// language tags), and the contents of the deprecated observed-data objects
// dictionary. Custom properties are checked only for their names and, when
// they end in _ref or _refs and are not empty, for holding identifiers.
//
// All functions are safe for concurrent use; a Reader is not.
package stix

import (
	"fmt"
	"strings"
	"time"
)

// Object is a validated STIX object. The typed fields are the common
// properties the rest of Setu needs for storage and policy; everything else
// stays in Canonical.
type Object struct {
	ID, Type, SpecVersion string
	Created, Modified     time.Time // zero when absent
	Revoked               bool
	CreatedByRef          string
	ObjectMarkingRefs     []string
	// Canonical is the RFC 8785 canonical JSON of the object as received.
	Canonical []byte
	// Warnings are accepted deviations, e.g. an SCO whose id is not the
	// deterministic one. They never change the object.
	Warnings []string

	class class
}

// IsSCO reports whether the object is a cyber-observable object: one of the
// SCO types the specification defines, a custom type declared as a new SCO
// through an extension-definition, or an unknown type that carries no
// created/modified timestamps (SCOs are the only objects without them).
func (o *Object) IsSCO() bool { return o.class == classSCO }

// ValidationError is one fault found in an object. ID is empty when the
// object's id could not be read.
type ValidationError struct{ ID, Path, Msg string }

func (e *ValidationError) Error() string {
	if e.ID == "" {
		return e.Path + ": " + e.Msg
	}
	return e.ID + ": " + e.Path + ": " + e.Msg
}

// ValidationErrors is every fault found in one object, sorted by path.
// It is never empty when returned as an error.
type ValidationErrors []*ValidationError

// maxShownErrors bounds the message so that one hostile object cannot make
// a log line or an HTTP error body arbitrarily large; the slice keeps all.
const maxShownErrors = 5

func (es ValidationErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i == maxShownErrors {
			fmt.Fprintf(&b, "; and %d more", len(es)-i)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find the individual faults.
func (es ValidationErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
