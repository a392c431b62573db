package event

import (
	"bytes"
	"strings"
)

// Detect tells the format of a stream from its first bytes (NewReader
// looks at up to 64 KiB); Auto means it cannot tell.
//
//   - "#separator", "#fields" or "#path" starts a Zeek TSV log.
//   - A JSON array, or an object that is a bundle or a STIX object (its
//     id starts with its type and "--"), is STIX; so is a multi-line
//     object mentioning a bundle or spec_version.
//   - A first line that is an object with event_type is Suricata eve; with
//     _path, or ts and uid, fuid or id.orig_h, a Zeek JSON log. Any other
//     object is NDJSON.
//   - A first line with commas, semicolons or tabs is a CSV header.
func Detect(prefix []byte) Format {
	p := bytes.TrimPrefix(prefix, []byte("\xef\xbb\xbf"))
	p = bytes.TrimLeft(p, " \t\r\n")
	if len(p) == 0 {
		return Auto
	}
	line := p
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		line = p[:i]
	}
	line = bytes.TrimRight(line, " \t\r")
	switch p[0] {
	case '#':
		for _, h := range []string{"#separator", "#fields", "#path", "#set_separator"} {
			if bytes.HasPrefix(p, []byte(h)) {
				return ZeekTSV
			}
		}
		return Auto
	case '[':
		return STIX
	case '{':
		if m, err := newJSONLine().object(line); err == nil {
			return detectObject(m)
		}
		if bytes.Contains(p, []byte(`"spec_version"`)) || bytes.Contains(p, []byte(`"bundle"`)) ||
			bytes.Contains(p, []byte(`"observed-data"`)) {
			return STIX
		}
		if bytes.Contains(line, []byte(`"event_type"`)) {
			return Eve
		}
		return NDJSON
	}
	if bytes.ContainsAny(line, ",;\t") {
		return CSV
	}
	return Auto
}

func detectObject(m map[string]any) Format {
	typ, _ := m["type"].(string)
	id, _ := m["id"].(string)
	if typ == "bundle" || typ != "" && strings.HasPrefix(id, typ+"--") {
		return STIX
	}
	has := func(k string) bool { _, ok := m[k]; return ok }
	switch {
	case has("event_type"):
		return Eve
	case has("_path"), has("ts") && (has("uid") || has("fuid") || has("id.orig_h")):
		return ZeekJSON
	}
	return NDJSON
}
