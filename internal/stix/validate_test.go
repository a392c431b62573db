package stix

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
)

// Valid objects that the negative cases below each break in one way.
var bases = map[string]string{
	"indicator": `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"x",
		"pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z"}`,
	"malware": `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
		"created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true}`,
	"location": `{"type":"location","spec_version":"2.1","id":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
		"created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","region":"south-america"}`,
	"observed-data": `{"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
		"created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z",
		"first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":50,
		"object_refs":["ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8"]}`,
	"sighting": `{"type":"sighting","spec_version":"2.1","id":"sighting--ee20065d-2555-424f-ad9e-0f8fd5f4b5f4",
		"created":"2016-04-06T20:08:31.000Z","modified":"2016-04-06T20:08:31.000Z",
		"sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","count":3,
		"where_sighted_refs":["identity--b67d30ff-02ac-498a-92f9-32f845f448ff"],
		"observed_data_refs":["observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"]}`,
	"relationship": `{"type":"relationship","spec_version":"2.1","id":"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
		"created":"2016-04-06T20:06:37.000Z","modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates",
		"source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"}`,
	"opinion": `{"type":"opinion","spec_version":"2.1","id":"opinion--b01efc25-77b4-4003-b18b-f6e24b5cd9f7",
		"created":"2016-05-02T10:00:00.000Z","modified":"2016-05-02T10:00:00.000Z","opinion":"agree",
		"object_refs":["relationship--16d2358f-3b0d-4c88-b047-0da2f7ed4471"]}`,
	"report": `{"type":"report","spec_version":"2.1","id":"report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
		"created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","name":"r","published":"2016-01-20T17:00:00.000Z",
		"object_refs":["indicator--26ffb872-1dd9-446e-b6f5-d58527e5b5d2"]}`,
	"marking": `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f9",
		"created":"2016-08-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2016, Example Corp"}}`,
	"tlp1green": `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f8",
		"created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`,
	"tlp2clear": `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
		"created":"2022-10-01T00:00:00.000Z","name":"TLP:CLEAR",
		"extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"clear"}}}`,
	"file": `{"type":"file","spec_version":"2.1","id":"file--e277603e-1060-5ad4-9937-c26c97f1ca68","name":"foo.exe",
		"hashes":{"SHA-256":"35a01331e9ad96f751278b891b6ea09699806faedfa237d40513d92ad1b7100f"}}`,
	"network-traffic": `{"type":"network-traffic","spec_version":"2.1","id":"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
		"src_ref":"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53","dst_port":80,"protocols":["ipv4","tcp"]}`,
	"email-message": `{"type":"email-message","spec_version":"2.1","id":"email-message--72b7698f-10c2-565a-a2a6-b4996a2f2265",
		"is_multipart":false,"body":"hello","from_ref":"email-addr--89f52ea8-d6ef-51e9-8fce-6a29236436ed"}`,
	"ipv4-addr":    `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`,
	"mac-addr":     `{"type":"mac-addr","spec_version":"2.1","id":"mac-addr--65cfcf98-8a6e-5a1b-8f61-379ac4f92d00","value":"d2:fb:49:24:37:18"}`,
	"artifact":     `{"type":"artifact","spec_version":"2.1","id":"artifact--6f437177-6e48-5cf8-9d9e-872a2bddd641","mime_type":"image/jpeg","payload_bin":"aGVsbG8="}`,
	"process":      `{"type":"process","spec_version":"2.1","id":"process--07bc30cad-ebc2-4579-881d-b9cdc7f2b33c","pid":1221}`,
	"registry-key": `{"type":"windows-registry-key","spec_version":"2.1","id":"windows-registry-key--2ba37ae7-2745-5082-9dfd-9486dad41016","key":"hkey_local_machine\\system","values":[{"name":"Foo","data":"qwerty","data_type":"REG_SZ"}]}`,
	"extension-definition": `{"type":"extension-definition","spec_version":"2.1","id":"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e",
		"created_by_ref":"identity--11b76a96-5d2b-45e0-8a5a-f6994f370731","created":"2014-02-20T09:16:08.639Z","modified":"2014-02-20T09:16:08.639Z",
		"name":"New SDO 1","schema":"https://www.example.com/schema.json","version":"1.2.1","extension_types":["new-sdo"]}`,
	"language-content": `{"type":"language-content","spec_version":"2.1","id":"language-content--b86bd89f-98bb-4fa9-8cb2-9ad421da981d",
		"created":"2017-02-08T21:31:22.007Z","modified":"2017-02-08T21:31:22.007Z","object_ref":"campaign--12a111f0-b824-4baf-a224-83b80237a094",
		"contents":{"de":{"name":"Bank Angriff 1"}}}`,
	"grouping": `{"type":"grouping","spec_version":"2.1","id":"grouping--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
		"created":"2015-12-21T19:59:11.000Z","modified":"2015-12-21T19:59:11.000Z","context":"suspicious-activity",
		"object_refs":["indicator--26ffb872-1dd9-446e-b6f5-d58527e5b5d2"]}`,
	"campaign": `{"type":"campaign","spec_version":"2.1","id":"campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","name":"Green Group Attacks Against Finance",
		"first_seen":"2016-01-08T12:50:40.123Z","last_seen":"2016-02-08T12:50:40.123Z"}`,
	"custom-sdo": `{"type":"x-mitre-tactic","spec_version":"2.1","id":"x-mitre-tactic--daa4cbb1-b4f4-4723-a824-7f1efd6e0592",
		"created":"2018-10-17T00:14:20.652Z","modified":"2019-07-19T17:42:06.909Z","name":"Initial Access","x_mitre_domains":[]}`,
}

// mutate returns base with properties set (a nil value deletes).
func mutate(t *testing.T, base string, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(bases[base]), &m); err != nil {
		t.Fatalf("base %s: %v", base, err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m, json.Deterministic(true))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBasesValid(t *testing.T) {
	for name, b := range bases {
		if name == "process" {
			continue // its id is deliberately malformed for a negative case
		}
		t.Run(name, func(t *testing.T) {
			o, err := Parse([]byte(b))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkRoundTrip(t, []byte(b), o)
		})
	}
}

type neg struct {
	name string
	raw  []byte
	path string // expected path of one fault
	msg  string // substring of that fault's message
}

func negatives(t *testing.T) []neg {
	m := func(base string, set map[string]any) []byte { return mutate(t, base, set) }
	ind := func(set map[string]any) []byte { return m("indicator", set) }
	kv := func(k string, v any) map[string]any { return map[string]any{k: v} }
	raw := func(s string) []byte { return []byte(s) }
	return []neg{
		// Strict JSON.
		{"duplicate name", raw(`{"type":"indicator","type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`), "$.type", "duplicate"},
		{"invalid UTF-8", append(append(raw(`{"type":"indicator","name":"`), 0xff, 0xfe), `"}`...), "$.name", "UTF-8"},
		{"integer beyond 2^53", raw(strings.Replace(bases["indicator"], `"name":"x"`, `"confidence":9007199254740993`, 1)), "$.confidence", "2^53"},
		{"negative integer beyond 2^53", raw(strings.Replace(bases["indicator"], `"name":"x"`, `"x_n":-9007199254740992`, 1)), "$.x_n", "2^53"},
		{"top level array", raw(`[{"type":"indicator"}]`), "$", "JSON object"},
		{"top level string", raw(`"indicator"`), "$", "JSON object"},
		{"truncated", raw(`{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"`), "$", "invalid JSON"},
		{"trailing data", raw(bases["indicator"] + `{}`), "$", "after"},
		{"too deep", raw(`{"type":"x-deep","id":"x-deep--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","x_d":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`), "$.x_d", "nesting"},
		// type and id.
		{"type missing", ind(kv("type", nil)), "$.type", "required"},
		{"type not string", ind(kv("type", 5.0)), "$.type", "string"},
		{"type upper case", ind(kv("type", "Indicator")), "$.type", "a-z"},
		{"type too short", ind(map[string]any{"type": "ab", "id": "ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}), "$.type", "3 to 250"},
		{"type double hyphen", ind(kv("type", "x--y")), "$.type", "double hyphen"},
		{"type trailing hyphen", ind(kv("type", "xyz-")), "$.type", "hyphen"},
		{"bundle is not an object", raw(`{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[]}`), "$.type", "bundle"},
		{"id missing", ind(kv("id", nil)), "$.id", "required"},
		{"id of other type", ind(kv("id", "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")), "$.id", "does not match"},
		{"id nil uuid", ind(kv("id", "indicator--00000000-0000-0000-0000-000000000000")), "$.id", "nil"},
		{"id garbage", ind(kv("id", "indicator--xyz")), "$.id", "36"},
		{"id braces", ind(kv("id", "indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3}")), "$.id", "UUID"},
		{"id wrong variant", ind(kv("id", "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f")), "$.id", "variant"},
		{"id no separator", ind(kv("id", "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")), "$.id", "TYPE--UUID"},
		// spec_version.
		{"spec_version missing", ind(kv("spec_version", nil)), "$.spec_version", "required"},
		{"spec_version 2.0", ind(kv("spec_version", "2.0")), "$.spec_version", "2.1"},
		{"SCO spec_version 2.0", m("ipv4-addr", kv("spec_version", "2.0")), "$.spec_version", "2.1"},
		{"marking spec_version missing", m("marking", kv("spec_version", nil)), "$.spec_version", "required"},
		// Timestamps.
		{"created with offset", ind(kv("created", "2016-04-06T20:03:48.000+00:00")), "$.created", "RFC 3339"},
		{"created without ms", ind(kv("created", "2016-04-06T20:03:48Z")), "$.created", "millisecond"},
		{"modified without ms", ind(kv("modified", "2016-04-06T20:03:48.1Z")), "$.modified", "millisecond"},
		{"created missing", ind(kv("created", nil)), "$.created", "required"},
		{"created bad date", ind(kv("created", "2016-02-30T20:03:48.000Z")), "$.created", "RFC 3339"},
		{"modified before created", ind(kv("modified", "2016-04-06T20:03:47.999Z")), "$.modified", "earlier than created"},
		{"valid_from not a timestamp", ind(kv("valid_from", "yesterday")), "$.valid_from", "RFC 3339"},
		{"valid_until not after valid_from", ind(kv("valid_until", "2016-01-01T00:00:00Z")), "$.valid_until", "later than valid_from"},
		{"last_seen before first_seen", m("campaign", kv("last_seen", "2015-01-01T00:00:00Z")), "$.last_seen", "earlier"},
		// Lists and property names.
		{"empty labels", ind(kv("labels", []any{})), "$.labels", "empty"},
		{"labels not strings", ind(kv("labels", []any{1.0})), "$.labels[0]", "string"},
		{"custom name with hyphen", ind(kv("x-foo", "a")), "$.x-foo", "property name"},
		{"custom name too short", ind(kv("xy", "a")), "$.xy", "3 to 250"},
		{"custom _ref not an id", ind(kv("x_thing_ref", "nope")), "$.x_thing_ref", "TYPE--UUID"},
		{"custom _refs not ids", ind(kv("x_thing_refs", []any{"nope"})), "$.x_thing_refs[0]", "TYPE--UUID"},
		{"confidence above 100", ind(kv("confidence", 101.0)), "$.confidence", "between 0 and 100"},
		{"confidence fractional", ind(kv("confidence", 50.5)), "$.confidence", "integer"},
		{"revoked not bool", ind(kv("revoked", "true")), "$.revoked", "boolean"},
		// Per type.
		{"indicator pattern_type missing", ind(kv("pattern_type", nil)), "$.pattern_type", "required property missing"},
		{"indicator pattern missing", ind(kv("pattern", nil)), "$.pattern", "required"},
		{"indicator valid_from missing", ind(kv("valid_from", nil)), "$.valid_from", "required"},
		{"malware is_family missing", m("malware", kv("is_family", nil)), "$.is_family", "required"},
		{"malware is_family not bool", m("malware", kv("is_family", "yes")), "$.is_family", "boolean"},
		{"malware family without name", m("malware", kv("name", nil)), "$.name", "is_family"},
		{"malware sample_refs to indicator", m("malware", kv("sample_refs", []any{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"})), "$.sample_refs[0]", "file or artifact"},
		{"location empty", m("location", kv("region", nil)), "$", "region, country"},
		{"location latitude range", m("location", map[string]any{"latitude": 91.0, "longitude": 0.0}), "$.latitude", "between"},
		{"location latitude alone", m("location", kv("latitude", 10.0)), "$.longitude", "together"},
		{"location precision without coordinates", m("location", kv("precision", 10.0)), "$.precision", "latitude"},
		{"observed-data number_observed 0", m("observed-data", kv("number_observed", 0.0)), "$.number_observed", "between 1 and 999999999"},
		{"observed-data number_observed too big", m("observed-data", kv("number_observed", 1e9)), "$.number_observed", "between"},
		{"observed-data both objects and refs", m("observed-data", kv("objects", map[string]any{"0": map[string]any{"type": "file", "name": "a"}})), "$", "exactly one of objects and object_refs"},
		{"observed-data neither", m("observed-data", kv("object_refs", nil)), "$", "exactly one"},
		{"observed-data last before first", m("observed-data", kv("last_observed", "2015-12-21T18:00:00Z")), "$.last_observed", "earlier"},
		{"observed-data object_refs to SDO", m("observed-data", kv("object_refs", []any{"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"})), "$.object_refs[0]", "SCO"},
		{"observed-data only relationships", m("observed-data", kv("object_refs", []any{"relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"})), "$.object_refs", "at least one SCO"},
		{"sighting count too big", m("sighting", kv("count", 1e9)), "$.count", "between 0 and 999999999"},
		{"sighting count negative", m("sighting", kv("count", -1.0)), "$.count", "between"},
		{"sighting of SCO", m("sighting", kv("sighting_of_ref", "file--e277603e-1060-5ad4-9937-c26c97f1ca68")), "$.sighting_of_ref", "SDO"},
		{"sighting of relationship", m("sighting", kv("sighting_of_ref", "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad")), "$.sighting_of_ref", "SDO"},
		{"sighting where_sighted malware", m("sighting", kv("where_sighted_refs", []any{"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"})), "$.where_sighted_refs[0]", "identity or location"},
		{"sighting observed_data_refs indicator", m("sighting", kv("observed_data_refs", []any{"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"})), "$.observed_data_refs[0]", "observed-data"},
		{"sighting_of_ref missing", m("sighting", kv("sighting_of_ref", nil)), "$.sighting_of_ref", "required"},
		{"relationship source is marking", m("relationship", kv("source_ref", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f8")), "$.source_ref", "SDO or an SCO"},
		{"relationship target is relationship", m("relationship", kv("target_ref", "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad")), "$.target_ref", "SDO"},
		{"relationship_type upper case", m("relationship", kv("relationship_type", "Uses")), "$.relationship_type", "a-z"},
		{"relationship stop before start", m("relationship", map[string]any{"start_time": "2016-01-01T00:00:00Z", "stop_time": "2015-01-01T00:00:00Z"}), "$.stop_time", "later"},
		{"opinion not in enum", m("opinion", kv("opinion", "maybe")), "$.opinion", "strongly-disagree"},
		{"report published missing", m("report", kv("published", nil)), "$.published", "required"},
		{"report object_refs empty", m("report", kv("object_refs", []any{})), "$.object_refs", "empty"},
		{"grouping context missing", m("grouping", kv("context", nil)), "$.context", "required"},
		{"extension-definition without creator", m("extension-definition", kv("created_by_ref", nil)), "$.created_by_ref", "required"},
		{"extension-definition bad type", m("extension-definition", kv("extension_types", []any{"new-thing"})), "$.extension_types[0]", "new-sdo"},
		{"language-content empty contents", m("language-content", kv("contents", map[string]any{})), "$.contents", "empty"},
		{"language-content missing object_ref", m("language-content", kv("object_ref", nil)), "$.object_ref", "required"},
		{"custom SDO bad created", m("custom-sdo", kv("created", "2018-10-17")), "$.created", "RFC 3339"},
		{"custom SDO without spec_version", m("custom-sdo", kv("spec_version", nil)), "$.spec_version", "required"},
		// Common nested types.
		{"external reference without source_name", ind(kv("external_references", []any{map[string]any{"url": "https://example.com"}})), "$.external_references[0].source_name", "required"},
		{"external reference with source_name only", ind(kv("external_references", []any{
			map[string]any{"source_name": "a", "url": "u"}, map[string]any{"source_name": "b", "external_id": "1"},
			map[string]any{"source_name": "c"}})), "$.external_references[2]", "at least one of description, url, external_id"},
		{"external reference bad hash", ind(kv("external_references", []any{map[string]any{"source_name": "a", "url": "u", "hashes": map[string]any{"SHA-256": "abc"}}})), "$.external_references[0].hashes.SHA-256", "64 hexadecimal"},
		{"kill chain phase without phase_name", ind(kv("kill_chain_phases", []any{map[string]any{"kill_chain_name": "k"}})), "$.kill_chain_phases[0].phase_name", "required"},
		{"hashes MD5 wrong length", m("file", kv("hashes", map[string]any{"MD5": "abc"})), "$.hashes.MD5", "32 hexadecimal"},
		{"hashes key with space", m("file", kv("hashes", map[string]any{"SHA 256": "x"})), "$.hashes.SHA 256", "dictionary key"},
		{"dictionary key too long", m("network-traffic", kv("ipfix", map[string]any{strings.Repeat("k", 251): 1.0})), "$.ipfix." + strings.Repeat("k", 251), "1 to 250"},
		{"hashes empty", m("file", kv("hashes", map[string]any{})), "$.hashes", "empty"},
		// References.
		{"created_by_ref to malware", ind(kv("created_by_ref", "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b")), "$.created_by_ref", "identity"},
		{"object_marking_refs to identity", ind(kv("object_marking_refs", []any{"identity--b67d30ff-02ac-498a-92f9-32f845f448ff"})), "$.object_marking_refs[0]", "marking-definition"},
		{"object_marking_refs malformed", ind(kv("object_marking_refs", []any{"marking-definition--nope"})), "$.object_marking_refs[0]", "UUID"},
		// Granular markings.
		{"granular selectors empty", ind(kv("granular_markings", []any{map[string]any{"marking_ref": TLPRed, "selectors": []any{}}})), "$.granular_markings[0].selectors", "empty"},
		{"granular selectors missing", ind(kv("granular_markings", []any{map[string]any{"marking_ref": TLPRed}})), "$.granular_markings[0].selectors", "required"},
		{"granular both ref and lang", ind(kv("granular_markings", []any{map[string]any{"marking_ref": TLPRed, "lang": "en", "selectors": []any{"name"}}})), "$.granular_markings[0]", "exactly one of marking_ref and lang"},
		{"granular neither ref nor lang", ind(kv("granular_markings", []any{map[string]any{"selectors": []any{"name"}}})), "$.granular_markings[0]", "exactly one"},
		{"granular selector unresolved", ind(kv("granular_markings", []any{map[string]any{"marking_ref": TLPRed, "selectors": []any{"name", "description"}}})), "$.granular_markings[0].selectors[1]", "does not resolve"},
		{"granular selector index out of range", ind(map[string]any{"labels": []any{"a"}, "granular_markings": []any{map[string]any{"marking_ref": TLPRed, "selectors": []any{"labels.[1]"}}}}), "$.granular_markings[0].selectors[0]", "does not resolve"},
		{"granular marking_ref to identity", ind(kv("granular_markings", []any{map[string]any{"marking_ref": "identity--b67d30ff-02ac-498a-92f9-32f845f448ff", "selectors": []any{"name"}}})), "$.granular_markings[0].marking_ref", "marking-definition"},
		// Marking definitions and TLP.
		{"marking without definition", m("marking", map[string]any{"definition_type": nil, "definition": nil}), "$", "definition_type and definition, or extensions"},
		{"marking definition without type", m("marking", kv("definition_type", nil)), "$.definition_type", "required when definition"},
		{"statement marking without statement", m("marking", kv("definition", map[string]any{"text": "x"})), "$.definition.statement", "statement"},
		{"tlp marking bad colour", m("marking", map[string]any{"definition_type": "tlp", "definition": map[string]any{"tlp": "purple"}}), "$.definition.tlp", "white, green"},
		{"TLP 1.0 id with other colour", m("tlp1green", kv("definition", map[string]any{"tlp": "red"})), "$.definition", "built-in TLP:GREEN"},
		{"TLP 1.0 id with other created", m("tlp1green", kv("created", "2017-01-21T00:00:00.000Z")), "$.created", "built-in"},
		{"TLP 1.0 id with other name", m("tlp1green", kv("name", "TLP:RED")), "$.name", "built-in"},
		{"TLP 2.0 id with other level", m("tlp2clear", kv("extensions", map[string]any{TLPExtensionDefinition: map[string]any{"extension_type": "property-extension", "tlp_2_0": "red"}})), "$.extensions", "built-in TLP:CLEAR"},
		// SCOs.
		{"file without hashes or name", m("file", map[string]any{"name": nil, "hashes": nil, "size": 10.0}), "$", "hashes, name"},
		{"file negative size", m("file", kv("size", -1.0)), "$.size", "between"},
		{"file parent_directory_ref to file", m("file", kv("parent_directory_ref", "file--e277603e-1060-5ad4-9937-c26c97f1ca68")), "$.parent_directory_ref", "directory"},
		{"file archive-ext without contains_refs", m("file", kv("extensions", map[string]any{"archive-ext": map[string]any{"comment": "x"}})), "$.extensions.archive-ext.contains_refs", "required"},
		{"file extension not an object", m("file", kv("extensions", map[string]any{"ntfs-ext": "x"})), "$.extensions.ntfs-ext", "object"},
		{"network-traffic port out of range", m("network-traffic", kv("dst_port", 70000.0)), "$.dst_port", "between 0 and 65535"},
		{"network-traffic without endpoints", m("network-traffic", kv("src_ref", nil)), "$", "src_ref, dst_ref"},
		{"network-traffic protocols missing", m("network-traffic", kv("protocols", nil)), "$.protocols", "required"},
		{"network-traffic active with end", m("network-traffic", map[string]any{"is_active": true, "end": "2016-01-01T00:00:00Z"}), "$.end", "is_active"},
		{"network-traffic src_ref to file", m("network-traffic", kv("src_ref", "file--e277603e-1060-5ad4-9937-c26c97f1ca68")), "$.src_ref", "ipv4-addr"},
		{"email-message not multipart with parts", m("email-message", kv("body_multipart", []any{map[string]any{"body": "x"}})), "$.body_multipart", "is_multipart is false"},
		{"email-message is_multipart missing", m("email-message", kv("is_multipart", nil)), "$.is_multipart", "required"},
		{"email-message from_ref to url", m("email-message", kv("from_ref", "url--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")), "$.from_ref", "email-addr"},
		{"ipv4-addr not an address", m("ipv4-addr", kv("value", "not-an-ip")), "$.value", "IPv4"},
		{"ipv4-addr holding IPv6", m("ipv4-addr", kv("value", "2001:db8::1")), "$.value", "IPv4"},
		{"mac-addr upper case", m("mac-addr", kv("value", "D2:FB:49:24:37:18")), "$.value", "lowercase"},
		{"artifact payload and url", m("artifact", map[string]any{"url": "https://example.com/a", "hashes": map[string]any{"MD5": "6cc2cd4f1d7e1d8d9e7e3a3c1d4f6e8a"}}), "$.url", "payload_bin"},
		{"artifact payload not base64", m("artifact", kv("payload_bin", "VBORw0KGgo ...")), "$.payload_bin", "base64"},
		{"artifact payload without padding", m("artifact", kv("payload_bin", "aGVsbG8")), "$.payload_bin", "base64"},
		{"artifact relative url", m("artifact", map[string]any{"payload_bin": nil, "url": "/a/b", "hashes": map[string]any{"MD5": "6cc2cd4f1d7e1d8d9e7e3a3c1d4f6e8a"}}), "$.url", "absolute URL"},
		{"external reference url relative", mutate(t, "indicator", map[string]any{"external_references": []any{map[string]any{"source_name": "a", "url": "example.com/x"}}}), "$.external_references[0].url", "absolute URL"},
		{"external reference url with a space inside", mutate(t, "indicator", map[string]any{"external_references": []any{map[string]any{"source_name": "a", "url": "https://example.com/a b"}}}), "$.external_references[0].url", "RFC 3986"},
		{"external reference url empty", mutate(t, "indicator", map[string]any{"external_references": []any{map[string]any{"source_name": "a", "url": "  "}}}), "$.external_references[0].url", "not empty"},
		{"url value not a string", raw(`{"type":"url","id":"url--c1477287-23ac-5971-a010-5c287877fa60","value":3}`), "$.value", "URL string"},
		{"url value with a space inside", raw(`{"type":"url","id":"url--c1477287-23ac-5971-a010-5c287877fa60","value":"http://a b"}`), "$.value", "RFC 3986"},
		{"artifact url without hashes", m("artifact", map[string]any{"payload_bin": nil, "url": "https://example.com/a"}), "$.hashes", "url"},
		{"artifact key without algorithm", m("artifact", kv("decryption_key", "secret")), "$.decryption_key", "encryption_algorithm"},
		{"artifact bad encryption_algorithm", m("artifact", kv("encryption_algorithm", "rot13")), "$.encryption_algorithm", "AES-256-GCM"},
		{"registry value bad data_type", m("registry-key", kv("values", []any{map[string]any{"name": "a", "data_type": "REG_STRING"}})), "$.values[0].data_type", "REG_SZ"},
		{"registry-key empty", m("registry-key", map[string]any{"key": nil, "values": nil}), "$", "at least one property"},
		{"mutex name missing", raw(`{"type":"mutex","id":"mutex--eba44954-d4e4-5d3b-814c-2b17dd8de300"}`), "$.name", "required"},
		{"autonomous-system number not integer", raw(`{"type":"autonomous-system","id":"autonomous-system--f720c34b-98ae-597f-ade5-27dc241e8c74","number":1.5}`), "$.number", "integer"},
		{"process without properties", raw(`{"type":"process","id":"process--07bc30ad-ebc2-4579-881d-b9cdc7f2b33c"}`), "$", "at least one property"},
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range negatives(t) {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.raw)
			if err == nil {
				t.Fatalf("accepted %s (canonical %s)", tc.raw, o.Canonical)
			}
			var all []*ValidationError
			var ve *ValidationError
			var ves ValidationErrors
			switch {
			case errors.As(err, &ves):
				all = ves
			case errors.As(err, &ve):
				all = []*ValidationError{ve}
			default:
				t.Fatalf("error %T %v is neither *ValidationError nor ValidationErrors", err, err)
			}
			for _, e := range all {
				if e.Path == tc.path && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("no fault at %s containing %q; got: %v", tc.path, tc.msg, err)
		})
	}
}

func TestErrorNamesIDAndPath(t *testing.T) {
	raw := mutate(t, "indicator", map[string]any{"pattern_type": nil})
	_, err := Parse(raw)
	want := "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: $.pattern_type: required property missing"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	// Several faults: all reported, sorted by path.
	raw = mutate(t, "indicator", map[string]any{"pattern_type": nil, "confidence": 200.0, "labels": []any{}})
	_, err = Parse(raw)
	var ves ValidationErrors
	if !errors.As(err, &ves) {
		t.Fatalf("got %T, want ValidationErrors", err)
	}
	var paths []string
	for _, e := range ves {
		paths = append(paths, e.Path)
	}
	if d := cmp.Diff([]string{"$.confidence", "$.labels", "$.pattern_type"}, paths); d != "" {
		t.Errorf("paths (-want +got):\n%s", d)
	}
	// Without a readable id, the id part is omitted.
	_, err = Parse([]byte(`{"type":"indicator"}`))
	if err == nil || strings.HasPrefix(err.Error(), ": ") || !strings.Contains(err.Error(), "$.id: required property missing") {
		t.Errorf("got %v", err)
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name     string
		raw      []byte
		warnings int
		sco      bool
	}{
		{"custom list property empty", mutate(t, "indicator", map[string]any{"x_acme_tags": []any{}}), 0, false},
		{"custom property without x_ prefix", mutate(t, "indicator", map[string]any{"acme_score": 3.0}), 0, false},
		{"open vocabulary pattern_type", mutate(t, "indicator", map[string]any{"pattern_type": "acme-rules"}), 0, false},
		{"integer 2^53-1", mutate(t, "indicator", map[string]any{"x_big": 9007199254740991.0}), 0, false},
		{"large float", []byte(strings.Replace(bases["indicator"], `"name":"x"`, `"x_f":1e300`, 1)), 0, false},
		{"unknown extension kept", mutate(t, "indicator", map[string]any{"extensions": map[string]any{
			"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e": map[string]any{"extension_type": "property-extension", "rank": 5.0}}}), 0, false},
		{"custom SDO", []byte(bases["custom-sdo"]), 0, false},
		{"custom SCO", []byte(`{"type":"x-acme-thing","id":"x-acme-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","x_value":"a"}`), 0, true},
		{"SCO with non-deterministic id", mutate(t, "ipv4-addr", map[string]any{"id": "ipv4-addr--b4e29b62-2053-47c4-bab4-bbce39e5ed67"}), 1, true},
		{"SCO with deterministic id", []byte(bases["ipv4-addr"]), 0, true},
		{"SCO without spec_version", mutate(t, "ipv4-addr", map[string]any{"spec_version": nil}), 0, true},
		{"timestamp with leap second", mutate(t, "indicator", map[string]any{"valid_from": "2016-12-31T23:59:60Z"}), 0, false},
		{"timestamp with nanoseconds", mutate(t, "indicator", map[string]any{"created": "2016-04-06T20:03:48.123456789Z", "modified": "2016-04-06T20:03:48.123456789Z"}), 0, false},
		{"granular marking resolved", mutate(t, "indicator", map[string]any{"external_references": []any{map[string]any{"source_name": "a", "url": "https://example.com/u"}},
			"granular_markings": []any{map[string]any{"lang": "en", "selectors": []any{"name", "external_references.[0].source_name"}}}}), 0, false},
		{"TLP 1.0 green", []byte(bases["tlp1green"]), 0, false},
		{"TLP 2.0 clear", []byte(bases["tlp2clear"]), 0, false},
		{"external reference url with leading space", mutate(t, "indicator", map[string]any{"external_references": []any{map[string]any{"source_name": "capec", "url": " https://example.com/a"}}}), 1, false},
		{"external reference url with trailing newline", mutate(t, "indicator", map[string]any{"external_references": []any{map[string]any{"source_name": "capec", "url": "https://example.com/a\n"}}}), 1, false},
		{"ipv4 CIDR", mutate(t, "ipv4-addr", map[string]any{"value": "198.51.100.0/24", "id": "ipv4-addr--b4e29b62-2053-47c4-bab4-bbce39e5ed67"}), 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkRoundTrip(t, tc.raw, o)
			if len(o.Warnings) != tc.warnings {
				t.Errorf("warnings %q, want %d", o.Warnings, tc.warnings)
			}
			if o.IsSCO() != tc.sco {
				t.Errorf("IsSCO() = %v", o.IsSCO())
			}
		})
	}
}

func TestObjectFields(t *testing.T) {
	raw := mutate(t, "indicator", map[string]any{
		"created_by_ref":      "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
		"object_marking_refs": []any{TLPGreen},
		"revoked":             true,
	})
	o, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := *o
	got.Canonical, got.class = nil, 0
	want := Object{
		ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Type: "indicator", SpecVersion: "2.1",
		Revoked: true, CreatedByRef: "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
		ObjectMarkingRefs: []string{TLPGreen},
	}
	want.Created, _, _ = parseTimestamp("2016-04-06T20:03:48.000Z")
	want.Modified = want.Created
	if d := cmp.Diff(want, got, cmp.AllowUnexported(Object{})); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// Canonical is RFC 8785: sorted members, no whitespace.
	if !strings.HasPrefix(string(o.Canonical), `{"created":"2016-04-06T20:03:48.000Z","created_by_ref":`) {
		t.Errorf("canonical = %s", o.Canonical)
	}
}

func TestParseID(t *testing.T) {
	typ, u, err := ParseID("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
	if err != nil || typ != "indicator" || u.String() != "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" {
		t.Errorf("got %q %v %v", typ, u, err)
	}
	for _, bad := range []string{"", "indicator", "indicator--", "--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
		"indicator--urn:uuid:8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator--00000000-0000-0000-0000-000000000000"} {
		if _, _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
}

func TestSCOID(t *testing.T) {
	cases := []struct {
		typ   string
		props map[string]any
		want  string
		ok    bool
	}{
		// UUIDv5 in the SCO namespace over `{"value":"198.51.100.3"}`
		{"ipv4-addr", map[string]any{"value": "198.51.100.3"}, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", true},
		// Property order and non-contributing properties do not matter.
		{"ipv4-addr", map[string]any{"spec_version": "2.1", "value": "198.51.100.3", "defanged": true}, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4", true},
		{"process", map[string]any{"pid": 1.0}, "", false},
		// Go values other than the decoded forms are accepted as JSON would carry them.
		{"autonomous-system", map[string]any{"number": 15139}, "", true},
		{"x-custom", map[string]any{"value": "a"}, "", false},
		{"file", map[string]any{"size": 3.0}, "", false},
	}
	for _, tc := range cases {
		got, ok := SCOID(tc.typ, tc.props)
		if tc.want == "" && tc.ok {
			tc.want, _ = SCOID(tc.typ, map[string]any{"number": 15139.0})
		}
		if got != tc.want || ok != tc.ok {
			t.Errorf("SCOID(%s, %v) = %q, %v; want %q, %v", tc.typ, tc.props, got, ok, tc.want, tc.ok)
		}
	}
	// The hash preference picks MD5 over SHA-256 whatever else is present.
	a, _ := SCOID("file", map[string]any{"hashes": map[string]any{"MD5": "6cc2cd4f1d7e1d8d9e7e3a3c1d4f6e8a", "SHA-256": "aa"}})
	b, _ := SCOID("file", map[string]any{"hashes": map[string]any{"MD5": "6cc2cd4f1d7e1d8d9e7e3a3c1d4f6e8a"}})
	if a != b {
		t.Errorf("hash preference: %s != %s", a, b)
	}
}

func TestTLPOf(t *testing.T) {
	cases := []struct {
		ref  string
		want TLP
		ok   bool
	}{
		{TLP1White, TLPLevelClear, true},
		{TLPClear, TLPLevelClear, true},
		{TLP1Green, TLPLevelGreen, true},
		{TLPGreen, TLPLevelGreen, true},
		{TLP1Amber, TLPLevelAmber, true},
		{TLPAmber, TLPLevelAmber, true},
		{TLPAmberStrict, TLPLevelAmberStrict, true},
		{TLP1Red, TLPLevelRed, true},
		{TLPRed, TLPLevelRed, true},
		{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f9", 0, false},
	}
	for _, tc := range cases {
		got, ok := TLPOf(tc.ref)
		if got != tc.want || ok != tc.ok {
			t.Errorf("TLPOf(%s) = %v, %v", tc.ref, got, ok)
		}
	}
	if s := TLPLevelAmberStrict.String(); s != "TLP:AMBER+STRICT" {
		t.Errorf("String() = %s", s)
	}
}

func TestTLPDefinition(t *testing.T) {
	for _, id := range []string{TLP1White, TLP1Green, TLP1Amber, TLP1Red, TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed} {
		b, ok := TLPDefinition(id)
		if !ok {
			t.Fatalf("TLPDefinition(%s) missing", id)
		}
		o, err := Parse(b)
		if err != nil {
			t.Fatalf("built-in %s rejected: %v", id, err)
		}
		if !bytes.Equal(o.Canonical, b) || o.ID != id {
			t.Errorf("built-in %s not canonical: %s", id, b)
		}
	}
	if _, ok := TLPDefinition("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5055f9"); ok {
		t.Error("unknown id reported as built-in")
	}
}
