package ingest

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// hint says what an object that is not valid STIX 2.1 appears to be, when
// that is something a user commonly feeds the node by mistake, and what
// to do instead; "" otherwise.
func hint(raw []byte) string {
	var top map[string]jsontext.Value
	if json.Unmarshal(raw, &top, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)) != nil {
		return ""
	}
	_, event := top["Event"]
	_, attrs := top["Attribute"]
	_, info := top["info"]
	_, response := top["response"]
	_, typ := top["type"]
	_, id := top["id"]
	_, spec := top["spec_version"]
	_, created := top["created"]
	switch {
	case event || attrs && info || response && !typ:
		return "this is a MISP event, not STIX 2.1: export it from MISP as STIX 2.1 (or convert it with misp-stix) and import that"
	case typ && id && created && !spec:
		return "this looks like a STIX 2.0 object (no spec_version): Setu stores STIX 2.1; convert it first (e.g. with the OASIS stix2-elevator)"
	}
	return ""
}
