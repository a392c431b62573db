package event

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// zrec is one Zeek log record, whichever form it was read from. Unset and
// empty fields read as "" and as no elements.
type zrec interface {
	get(name string) string
	list(name string) []string
	has(name string) bool
}

// zeekLog turns one record of a Zeek log into observables and returns the
// time the record ends, when later than its ts.
type zeekLog func(b *builder, rec zrec, ts time.Time) (end time.Time)

var zeekLogs = map[string]zeekLog{
	"conn":  zeekConn,
	"dns":   zeekDNS,
	"http":  zeekHTTP,
	"files": zeekFiles,
	"ssl":   zeekSSL,
	"x509":  zeekX509,
}

// inferZeekLog names the log a record comes from by its fields, for
// records that do not say (JSON without _path, TSV without #path).
func inferZeekLog(has func(string) bool) string {
	switch {
	case has("certificate.subject") || has("certificate.serial"):
		return "x509"
	case has("fuid") && (has("md5") || has("sha1") || has("sha256") || has("mime_type") || has("total_bytes") || has("seen_bytes")):
		return "files"
	case has("query") && (has("qtype") || has("qtype_name") || has("trans_id") || has("rcode")):
		return "dns"
	case has("method") || has("user_agent") || has("host") && has("uri"):
		return "http"
	case has("server_name") || has("cipher") || has("cert_chain_fps") || has("cert_chain_fuids"):
		return "ssl"
	case has("conn_state") || has("proto") && has("id.orig_h"):
		return "conn"
	}
	return ""
}

// zeekEvent builds the observation of one record of log kind (possibly
// unknown, when only the connection fields are used).
func zeekEvent(b *builder, rec zrec, kind string, raw []byte) (Event, error) {
	var ts time.Time
	if s := rec.get("ts"); s != "" {
		var ok bool
		if ts, ok = parseTime(s); !ok {
			return Event{}, fmt.Errorf("ts: %q is not a timestamp", s)
		}
	}
	b.reset()
	var end time.Time
	if f := zeekLogs[kind]; f != nil {
		end = f(b, rec, ts)
	} else if nt := zeekTraffic(b, rec); nt != nil {
		b.add("network-traffic", nt)
	}
	if end.Before(ts) {
		end = ts
	}
	return Event{Observation: b.observation(raw, ts, end, 1), Raw: raw, Kind: kind}, nil
}

// zeekTraffic adds the address objects of the record's connection (the
// id.orig_h, id.orig_p, id.resp_h, id.resp_p fields) and returns the
// network-traffic properties, or nil when the record has no addresses.
func zeekTraffic(b *builder, rec zrec, services ...string) map[string]any {
	oh, rh := rec.get("id.orig_h"), rec.get("id.resp_h")
	src, dst := b.addAddr(oh), b.addAddr(rh)
	if src == "" && dst == "" {
		return nil
	}
	nt := make(map[string]any, 12)
	if src != "" {
		nt["src_ref"] = src
	}
	if dst != "" {
		nt["dst_ref"] = dst
	}
	setInt(nt, "src_port", rec.get("id.orig_p"))
	setInt(nt, "dst_port", rec.get("id.resp_p"))
	ip := ipVersion(oh)
	if ip == "" {
		ip = ipVersion(rh)
	}
	nt["protocols"] = protocols(append([]string{ip, rec.get("proto")}, services...)...)
	return nt
}

// setInt sets m[key] to the integer in s, if s holds one.
func setInt(m map[string]any, key, s string) {
	if s == "" {
		return
	}
	if i, ok := parseInt(s); ok {
		m[key] = i
	}
}

func setStr(m map[string]any, key, s string) {
	if s != "" {
		m[key] = s
	}
}

// duration adds a Zeek interval (seconds, with a fraction) to t.
func duration(t time.Time, s string) time.Time {
	if s == "" || t.IsZero() {
		return time.Time{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return time.Time{}
	}
	return t.Add(time.Duration(f * float64(time.Second)))
}

func zeekConn(b *builder, rec zrec, ts time.Time) time.Time {
	nt := zeekTraffic(b, rec, strings.Split(rec.get("service"), ",")...)
	end := duration(ts, rec.get("duration"))
	if nt == nil {
		return end
	}
	if !ts.IsZero() {
		nt["start"] = stixTime(ts)
	}
	if !end.IsZero() {
		nt["end"] = stixTime(end)
	}
	setInt(nt, "src_byte_count", rec.get("orig_bytes"))
	setInt(nt, "dst_byte_count", rec.get("resp_bytes"))
	setInt(nt, "src_packets", rec.get("orig_pkts"))
	setInt(nt, "dst_packets", rec.get("resp_pkts"))
	b.add("network-traffic", nt)
	return end
}

func zeekDNS(b *builder, rec zrec, ts time.Time) time.Time {
	if nt := zeekTraffic(b, rec, "dns"); nt != nil {
		b.add("network-traffic", nt)
	}
	q := rec.get("query")
	// A reverse lookup's answers are names for the queried address, not
	// what the queried name resolves to.
	reverse := rec.get("qtype_name") == "PTR" || strings.HasSuffix(q, ".in-addr.arpa") || strings.HasSuffix(q, ".ip6.arpa")
	var resolved []any
	for _, a := range rec.list("answers") {
		var id string
		if addrType(a) != "" {
			id = b.addAddr(a)
		} else if hostLike(a) {
			id = b.addValue("domain-name", a)
		}
		if id != "" && !reverse {
			resolved = append(resolved, id)
		}
	}
	if q != "" {
		d := map[string]any{"value": q}
		if len(resolved) > 0 {
			d["resolves_to_refs"] = resolved
		}
		b.add("domain-name", d)
	}
	return time.Time{}
}

// httpURL puts a request's URL back together: the URI when it is already
// absolute (a proxy request), else http://host[:port]uri, the port shown
// when it is not 80 and the Host header did not carry one.
func httpURL(host, uri string, port int64) string {
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		return uri
	}
	if host == "" {
		return ""
	}
	if addrType(host) == "ipv6-addr" {
		host = "[" + host + "]"
	}
	if port > 0 && port != 80 && !strings.Contains(host, "]:") && (host[0] == '[' || !strings.Contains(host, ":")) {
		host += ":" + strconv.FormatInt(port, 10)
	}
	if uri == "" {
		uri = "/"
	} else if uri[0] != '/' {
		uri = "/" + uri
	}
	return "http://" + host + uri
}

// hostObject adds the object a Host header or SNI names: an address or a
// domain name, without a port.
func hostObject(b *builder, host string) string {
	if host == "" {
		return ""
	}
	if id := b.addAddr(host); id != "" {
		return id
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && (strings.Count(host, ":") == 1 || host[0] == '[') {
		host = host[:i]
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if id := b.addAddr(host); id != "" {
		return id
	}
	return b.addValue("domain-name", host)
}

// httpExtension builds http-request-ext, which needs at least the method
// and the request target.
func httpExtension(method, uri, version, host, userAgent, referrer string) map[string]any {
	if method == "" || uri == "" {
		return nil
	}
	ext := map[string]any{"request_method": strings.ToLower(method), "request_value": uri}
	if version != "" {
		v := strings.ToLower(version)
		if !strings.HasPrefix(v, "http/") {
			v = "http/" + v
		}
		ext["request_version"] = v
	}
	h := map[string]any{}
	setStr(h, "Host", host)
	setStr(h, "User-Agent", userAgent)
	setStr(h, "Referer", referrer)
	if len(h) > 0 {
		ext["request_header"] = h
	}
	return ext
}

func zeekHTTP(b *builder, rec zrec, ts time.Time) time.Time {
	host, uri := rec.get("host"), rec.get("uri")
	hostObject(b, host)
	port, _ := parseInt(rec.get("id.resp_p"))
	b.addValue("url", httpURL(host, uri, port))
	nt := zeekTraffic(b, rec, "tcp", "http")
	if nt == nil {
		return time.Time{}
	}
	if ext := httpExtension(rec.get("method"), uri, rec.get("version"), host, rec.get("user_agent"), rec.get("referrer")); ext != nil {
		nt["extensions"] = map[string]any{"http-request-ext": ext}
	}
	b.add("network-traffic", nt)
	return time.Time{}
}

func zeekFiles(b *builder, rec zrec, ts time.Time) time.Time {
	for _, h := range rec.list("tx_hosts") {
		b.addAddr(h)
	}
	for _, h := range rec.list("rx_hosts") {
		b.addAddr(h)
	}
	if nt := zeekTraffic(b, rec, rec.get("source")); nt != nil {
		b.add("network-traffic", nt)
	}
	f := map[string]any{}
	hashes := map[string]any{}
	setStr(hashes, "MD5", rec.get("md5"))
	setStr(hashes, "SHA-1", rec.get("sha1"))
	setStr(hashes, "SHA-256", rec.get("sha256"))
	if len(hashes) > 0 {
		f["hashes"] = hashes
	}
	if name := rec.get("filename"); name != "" {
		f["name"] = path.Base(name)
	}
	if len(f) > 0 {
		setStr(f, "mime_type", rec.get("mime_type"))
		setInt(f, "size", rec.get("total_bytes"))
		b.add("file", f)
	}
	return duration(ts, rec.get("duration"))
}

// certificate adds an x509-certificate for a fingerprint of unknown
// algorithm (its length tells), with the properties in more.
func certificate(b *builder, fp string, more map[string]any) string {
	c := map[string]any{}
	if name := hashName(fp); name != "" {
		c["hashes"] = map[string]any{name: fp}
	}
	for k, v := range more {
		c[k] = v
	}
	if len(c) == 0 {
		return ""
	}
	return b.add("x509-certificate", c)
}

func zeekSSL(b *builder, rec zrec, ts time.Time) time.Time {
	hostObject(b, rec.get("server_name"))
	if nt := zeekTraffic(b, rec, "tcp", "tls"); nt != nil {
		b.add("network-traffic", nt)
	}
	// Zeek before 4.2 logged the server certificate's subject and issuer
	// here; later versions log fingerprints and leave those to x509.log.
	leaf := map[string]any{}
	setStr(leaf, "subject", rec.get("subject"))
	setStr(leaf, "issuer", rec.get("issuer"))
	fps := rec.list("cert_chain_fps")
	if len(fps) == 0 {
		certificate(b, "", leaf)
	}
	for i, fp := range fps {
		if i == 0 {
			certificate(b, fp, leaf)
		} else {
			certificate(b, fp, nil)
		}
	}
	for _, fp := range rec.list("client_cert_chain_fps") {
		certificate(b, fp, nil)
	}
	return time.Time{}
}

func zeekX509(b *builder, rec zrec, ts time.Time) time.Time {
	c := map[string]any{}
	setStr(c, "version", rec.get("certificate.version"))
	setStr(c, "serial_number", rec.get("certificate.serial"))
	setStr(c, "subject", rec.get("certificate.subject"))
	setStr(c, "issuer", rec.get("certificate.issuer"))
	setStr(c, "signature_algorithm", rec.get("certificate.sig_alg"))
	setStr(c, "subject_public_key_algorithm", rec.get("certificate.key_alg"))
	for k, field := range map[string]string{"validity_not_before": "certificate.not_valid_before", "validity_not_after": "certificate.not_valid_after"} {
		if t, ok := parseTime(rec.get(field)); ok {
			c[k] = stixTime(t)
		}
	}
	var san []string
	for _, n := range rec.list("san.dns") {
		san = append(san, "DNS:"+n)
	}
	for _, n := range rec.list("san.ip") {
		san = append(san, "IP:"+n)
	}
	for _, n := range rec.list("san.email") {
		san = append(san, "email:"+n)
	}
	if len(san) > 0 {
		c["x509_v3_extensions"] = map[string]any{"subject_alternative_name": strings.Join(san, ", ")}
	}
	certificate(b, rec.get("fingerprint"), c)
	return time.Time{}
}

// zeekTSVReader reads Zeek's ASCII logs: # header lines (#separator,
// #set_separator, #empty_field, #unset_field, #path, #fields, #types),
// then one tab-separated record per line. Headers may come again (logs
// concatenated); each set applies to the records after it.
type zeekTSVReader struct {
	lr     *lineReader
	sep    []byte
	setSep []byte
	empty  []byte
	unset  []byte
	path   string
	kind   string
	fields []string
	index  map[string]int
	isList []bool // by field, once #types has said (typed)
	typed  bool
	vals   [][]byte
	b      builder
}

func newZeekTSVReader(lr *lineReader) *zeekTSVReader {
	return &zeekTSVReader{lr: lr, sep: []byte{'\t'}, setSep: []byte{','}, empty: []byte("(empty)"), unset: []byte("-")}
}

func (r *zeekTSVReader) Next() (Event, error) {
	for {
		line, err := r.lr.filled()
		if err != nil {
			return Event{}, err
		}
		if line[0] == '#' {
			if err := r.header(line); err != nil {
				return Event{}, &LineError{Line: r.lr.line, Err: err}
			}
			continue
		}
		if r.fields == nil {
			return Event{}, lineErr(r.lr.line, "record before the #fields header")
		}
		if !utf8.Valid(line) {
			return Event{}, lineErr(r.lr.line, "invalid UTF-8")
		}
		r.vals = r.vals[:0]
		for rest := line; ; {
			i := bytes.Index(rest, r.sep)
			if i < 0 {
				r.vals = append(r.vals, rest)
				break
			}
			r.vals = append(r.vals, rest[:i])
			rest = rest[i+len(r.sep):]
		}
		if len(r.vals) != len(r.fields) {
			return Event{}, lineErr(r.lr.line, "record has %d fields, #fields names %d", len(r.vals), len(r.fields))
		}
		ev, err := zeekEvent(&r.b, tsvRec{r}, r.kind, line)
		if err != nil {
			return Event{}, &LineError{Line: r.lr.line, Err: err}
		}
		ev.Line = r.lr.line
		return ev, nil
	}
}

func (r *zeekTSVReader) header(line []byte) error {
	if v, ok := bytes.CutPrefix(line, []byte("#separator ")); ok {
		sep := zeekUnescape(v)
		if sep == "" {
			return errors.New("empty #separator")
		}
		r.sep = []byte(sep)
		return nil
	}
	name, value, _ := bytes.Cut(line[1:], r.sep)
	switch string(name) {
	case "set_separator":
		r.setSep = []byte(zeekUnescape(value))
		if len(r.setSep) == 0 {
			return errors.New("empty #set_separator")
		}
	case "empty_field":
		r.empty = []byte(zeekUnescape(value))
	case "unset_field":
		r.unset = []byte(zeekUnescape(value))
	case "path":
		r.path = zeekUnescape(value)
		r.setKind()
	case "fields":
		r.fields = strings.Split(string(value), string(r.sep))
		r.index = make(map[string]int, len(r.fields))
		for i, f := range r.fields {
			r.index[f] = i
		}
		r.isList = make([]bool, len(r.fields))
		r.typed = false
		r.setKind()
	case "types":
		types := strings.Split(string(value), string(r.sep))
		if len(types) != len(r.fields) {
			return fmt.Errorf("#types names %d types for %d fields", len(types), len(r.fields))
		}
		for i, t := range types {
			r.isList[i] = strings.HasPrefix(t, "set[") || strings.HasPrefix(t, "vector[")
		}
		r.typed = true
	}
	return nil
}

func (r *zeekTSVReader) setKind() {
	if zeekLogs[r.path] != nil {
		r.kind = r.path
		return
	}
	r.kind = inferZeekLog(func(f string) bool { _, ok := r.index[f]; return ok })
	if r.kind == "" {
		r.kind = r.path
	}
}

type tsvRec struct{ r *zeekTSVReader }

func (t tsvRec) raw(name string) ([]byte, bool) {
	i, ok := t.r.index[name]
	if !ok {
		return nil, false
	}
	v := t.r.vals[i]
	if bytes.Equal(v, t.r.unset) || bytes.Equal(v, t.r.empty) {
		return nil, false
	}
	return v, true
}

func (t tsvRec) get(name string) string {
	v, ok := t.raw(name)
	if !ok {
		return ""
	}
	return zeekUnescape(v)
}

func (t tsvRec) list(name string) []string {
	v, ok := t.raw(name)
	if !ok {
		return nil
	}
	if i := t.r.index[name]; t.r.typed && !t.r.isList[i] {
		return []string{zeekUnescape(v)}
	}
	var out []string
	for _, e := range bytes.Split(v, t.r.setSep) {
		if len(e) > 0 && !bytes.Equal(e, t.r.unset) {
			out = append(out, zeekUnescape(e))
		}
	}
	return out
}

func (t tsvRec) has(name string) bool {
	_, ok := t.r.index[name]
	return ok
}

// zeekUnescape decodes the \xHH escapes Zeek writes for separators and
// unprintable bytes. When the decoded bytes are not UTF-8, the escaped
// text is kept: a STIX string holds text, and that is how Zeek shows it.
func zeekUnescape(v []byte) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+3 < len(v) && v[i+1] == 'x' {
			if h, err := strconv.ParseUint(string(v[i+2:i+4]), 16, 8); err == nil {
				out = append(out, byte(h))
				i += 3
				continue
			}
		}
		out = append(out, c)
	}
	if !utf8.Valid(out) {
		return string(v)
	}
	return string(out)
}

// zeekJSONReader reads Zeek's JSON logs, one object per line, with the
// log named by _path, by Options.ZeekLog, or by the fields present.
type zeekJSONReader struct {
	lr   *lineReader
	j    *jsonLine
	kind string
	b    builder
}

func newZeekJSONReader(lr *lineReader, kind string) *zeekJSONReader {
	return &zeekJSONReader{lr: lr, j: newJSONLine(), kind: kind}
}

func (r *zeekJSONReader) Next() (Event, error) {
	line, err := r.lr.filled()
	if err != nil {
		return Event{}, err
	}
	m, err := r.j.object(line)
	if err != nil {
		return Event{}, &LineError{Line: r.lr.line, Err: err}
	}
	rec := jsonRec(m)
	kind := r.kind
	if p := str(m, "_path"); p != "" && (kind == "" || zeekLogs[p] != nil) {
		kind = p
	}
	if zeekLogs[kind] == nil {
		if k := inferZeekLog(rec.has); k != "" {
			kind = k
		}
	}
	ev, err := zeekEvent(&r.b, rec, kind, line)
	if err != nil {
		return Event{}, &LineError{Line: r.lr.line, Err: err}
	}
	ev.Line = r.lr.line
	return ev, nil
}

// jsonRec reads a decoded JSON log record. Zeek writes flat names
// ("id.orig_h"); pipelines that nest them ({"id":{"orig_h":...}}) are
// read too.
type jsonRec map[string]any

func (j jsonRec) value(name string) any {
	if v, ok := j[name]; ok {
		return v
	}
	if strings.IndexByte(name, '.') < 0 {
		return nil
	}
	return get(j, strings.Split(name, ".")...)
}

func (j jsonRec) get(name string) string {
	s, _ := text(j.value(name))
	return s
}

func (j jsonRec) list(name string) []string {
	switch v := j.value(name).(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := text(e); ok {
				out = append(out, s)
			}
		}
		return out
	case nil:
		return nil
	default:
		if s, ok := text(v); ok {
			return []string{s}
		}
	}
	return nil
}

func (j jsonRec) has(name string) bool { return j.value(name) != nil }
