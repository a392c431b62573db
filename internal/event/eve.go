package event

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// eveReader reads Suricata's eve.json, one event per line. Every event
// gives the addresses, ports and protocols of its flow; the sections
// present (http, dns, tls, fileinfo, files, flow, smtp, email), whatever
// the event_type, add their observables, so an alert with metadata
// yields what the matching protocol event would.
type eveReader struct {
	lr *lineReader
	j  *jsonLine
	b  builder
}

func newEveReader(lr *lineReader) *eveReader {
	return &eveReader{lr: lr, j: newJSONLine()}
}

func (r *eveReader) Next() (Event, error) {
	line, err := r.lr.filled()
	if err != nil {
		return Event{}, err
	}
	m, err := r.j.object(line)
	if err == nil {
		var ev Event
		if ev, err = eveEvent(&r.b, m, line); err == nil {
			ev.Line = r.lr.line
			return ev, nil
		}
	}
	return Event{}, &LineError{Line: r.lr.line, Err: err}
}

func eveEvent(b *builder, m map[string]any, raw []byte) (Event, error) {
	var ts time.Time
	if s := str(m, "timestamp"); s != "" {
		var ok bool
		if ts, ok = parseTime(s); !ok {
			return Event{}, fmt.Errorf("timestamp: %q is not a timestamp", s)
		}
	}
	first, last := ts, ts
	b.reset()
	src, dst := str(m, "src_ip"), str(m, "dest_ip")
	var nt map[string]any
	srcID, dstID := b.addAddr(src), b.addAddr(dst)
	if srcID != "" || dstID != "" {
		nt = make(map[string]any, 12)
		setStr(nt, "src_ref", srcID)
		setStr(nt, "dst_ref", dstID)
		if p, ok := integer(m["src_port"]); ok {
			nt["src_port"] = p
		}
		if p, ok := integer(m["dest_port"]); ok {
			nt["dst_port"] = p
		}
		ip := ipVersion(src)
		if ip == "" {
			ip = ipVersion(dst)
		}
		app := str(m, "app_proto")
		if app == "failed" || app == "unknown" {
			app = ""
		}
		// The sections name the application protocol when app_proto is
		// absent, as it is on dns events.
		names := []string{ip, str(m, "proto"), app}
		for _, sec := range []string{"dns", "http", "tls", "smtp"} {
			if _, ok := m[sec].(map[string]any); ok {
				names = append(names, sec)
			}
		}
		nt["protocols"] = protocols(names...)
		if t, ok := integer(m["icmp_type"]); ok && t >= 0 && t < 256 {
			c, _ := integer(m["icmp_code"])
			nt["extensions"] = map[string]any{"icmp-ext": map[string]any{
				"icmp_type_hex": fmt.Sprintf("%02x", t), "icmp_code_hex": fmt.Sprintf("%02x", c&0xff)}}
		}
	}
	if h, ok := m["http"].(map[string]any); ok {
		port, ok := integer(h["http_port"])
		if !ok {
			port = serverPort(m)
		}
		eveHTTP(b, h, nt, port)
	}
	if d, ok := m["dns"].(map[string]any); ok {
		eveDNS(b, d)
	}
	if t, ok := m["tls"].(map[string]any); ok {
		eveTLS(b, t)
	}
	if f, ok := m["fileinfo"].(map[string]any); ok {
		eveFile(b, f)
	}
	if fs, ok := m["files"].([]any); ok {
		for _, f := range fs {
			if f, ok := f.(map[string]any); ok {
				eveFile(b, f)
			}
		}
	}
	eveEmail(b, m)
	if fl, ok := m["flow"].(map[string]any); ok && nt != nil {
		setCount(nt, "src_packets", fl["pkts_toserver"])
		setCount(nt, "dst_packets", fl["pkts_toclient"])
		setCount(nt, "src_byte_count", fl["bytes_toserver"])
		setCount(nt, "dst_byte_count", fl["bytes_toclient"])
		start, okStart := parseTime(str(fl, "start"))
		end, okEnd := parseTime(str(fl, "end"))
		if okStart {
			nt["start"] = stixTime(start)
		}
		if okEnd && (!okStart || !end.Before(start)) {
			nt["end"] = stixTime(end)
		}
		// A flow event stands for the whole flow; other events for the
		// moment they were logged.
		if str(m, "event_type") == "flow" && okStart {
			first, last = start, start
			if okEnd && end.After(start) {
				last = end
			}
		}
	}
	if nt != nil {
		b.add("network-traffic", nt)
	}
	return Event{Observation: b.observation(raw, first, last, 1), Raw: raw, Kind: str(m, "event_type")}, nil
}

// serverPort guesses the HTTP server's port when the http section does
// not give it: an http event is oriented client to server, but fileinfo
// and alert events follow the packet that raised them, so there the lower
// port, the one that is not ephemeral, is taken.
func serverPort(m map[string]any) int64 {
	dst, okDst := integer(m["dest_port"])
	if str(m, "event_type") == "http" {
		return dst
	}
	src, okSrc := integer(m["src_port"])
	if okSrc && (!okDst || src < dst) {
		return src
	}
	return dst
}

func setCount(m map[string]any, key string, v any) {
	if i, ok := integer(v); ok && i >= 0 {
		m[key] = i
	}
}

func eveHTTP(b *builder, h map[string]any, nt map[string]any, port int64) {
	host, uri := str(h, "hostname"), str(h, "url")
	hostObject(b, host)
	b.addValue("url", httpURL(host, uri, port))
	if nt == nil {
		return
	}
	if ext := httpExtension(str(h, "http_method"), uri, str(h, "protocol"), host, str(h, "http_user_agent"), str(h, "http_refer")); ext != nil {
		exts, _ := nt["extensions"].(map[string]any)
		if exts == nil {
			exts = map[string]any{}
			nt["extensions"] = exts
		}
		exts["http-request-ext"] = ext
	}
}

// eveDNS reads the dns section in each of its versions: v1 (one answer
// per event: rrname, rrtype, rdata), v2 (answers and grouped), v3
// (queries and answers lists). A name's A, AAAA and CNAME answers become
// its resolves_to_refs; the queried name also resolves to the answers of
// the names its CNAMEs lead to, as Zeek's flat answer list has it, since
// that is what a lookup of the name gave. grouped, which does not say
// which name an answer belongs to, is read only when answers is absent.
func eveDNS(b *builder, d map[string]any) {
	var names []string
	resolves := map[string][]any{}
	qname := strings.TrimSuffix(str(d, "rrname"), ".")
	// Sets keep the work linear however many answers a line holds.
	seen := map[string]bool{}
	addName := func(n string) {
		n = strings.TrimSuffix(n, ".")
		if n == "" || seen[n] {
			return
		}
		seen[n] = true
		names = append(names, n)
	}
	answer := func(rrname, rrtype, rdata string) {
		rrname = strings.TrimSuffix(rrname, ".")
		addName(rrname)
		var id string
		switch strings.ToUpper(rrtype) {
		case "A", "AAAA":
			id = b.addAddr(rdata)
		case "CNAME":
			if rdata = strings.TrimSuffix(rdata, "."); rdata != "" {
				id = b.addValue("domain-name", rdata)
			}
		case "PTR":
			b.addValue("domain-name", strings.TrimSuffix(rdata, "."))
		}
		if id == "" {
			return
		}
		for _, n := range []string{rrname, qname} {
			if n == "" || seen[n+" "+id] {
				continue
			}
			seen[n+" "+id] = true
			resolves[n] = append(resolves[n], id)
		}
	}
	addName(qname)
	if qs, ok := d["queries"].([]any); ok {
		for _, q := range qs {
			if q, ok := q.(map[string]any); ok {
				addName(str(q, "rrname"))
				if qname == "" {
					qname = strings.TrimSuffix(str(q, "rrname"), ".")
				}
			}
		}
	}
	if rdata := str(d, "rdata"); rdata != "" {
		answer(qname, str(d, "rrtype"), rdata)
	}
	as, hasAnswers := d["answers"].([]any)
	for _, a := range as {
		if a, ok := a.(map[string]any); ok {
			answer(str(a, "rrname"), str(a, "rrtype"), str(a, "rdata"))
		}
	}
	if g, ok := d["grouped"].(map[string]any); ok && qname != "" && !hasAnswers {
		for _, rrtype := range []string{"A", "AAAA", "CNAME"} {
			l, _ := g[rrtype].([]any)
			for _, v := range l {
				if s, ok := text(v); ok {
					answer(qname, rrtype, s)
				}
			}
		}
	}
	for _, n := range names {
		dn := map[string]any{"value": n}
		if r := resolves[n]; len(r) > 0 {
			dn["resolves_to_refs"] = r
		}
		b.add("domain-name", dn)
	}
}

func eveTLS(b *builder, t map[string]any) {
	hostObject(b, str(t, "sni"))
	c := map[string]any{}
	setStr(c, "subject", str(t, "subject"))
	setStr(c, "issuer", str(t, "issuerdn"))
	setStr(c, "serial_number", str(t, "serial"))
	if v, ok := parseTime(str(t, "notbefore")); ok {
		c["validity_not_before"] = stixTime(v)
	}
	if v, ok := parseTime(str(t, "notafter")); ok {
		c["validity_not_after"] = stixTime(v)
	}
	// Suricata writes the certificate's SHA-1 as colon-separated hex.
	certificate(b, strings.ReplaceAll(str(t, "fingerprint"), ":", ""), c)
}

func eveFile(b *builder, f map[string]any) {
	file := map[string]any{}
	hashes := map[string]any{}
	setStr(hashes, "MD5", str(f, "md5"))
	setStr(hashes, "SHA-1", str(f, "sha1"))
	setStr(hashes, "SHA-256", str(f, "sha256"))
	if len(hashes) > 0 {
		file["hashes"] = hashes
	}
	if name := str(f, "filename"); name != "" {
		file["name"] = path.Base(name)
	}
	if len(file) == 0 {
		return
	}
	setCount(file, "size", f["size"])
	b.add("file", file)
}

// eveEmail reads the smtp envelope and the email section's headers.
func eveEmail(b *builder, m map[string]any) {
	smtp, _ := m["smtp"].(map[string]any)
	email, _ := m["email"].(map[string]any)
	if smtp == nil && email == nil {
		return
	}
	msg := map[string]any{}
	from := emailAddr(str(email, "from"))
	if from == "" {
		from = emailAddr(str(smtp, "mail_from"))
	}
	if id := b.addValue("email-addr", from); id != "" {
		msg["from_ref"] = id
	}
	addrs := func(key string, vs ...any) {
		var ids []any
		for _, v := range vs {
			l, ok := v.([]any)
			if !ok {
				l = []any{v}
			}
			for _, e := range l {
				s, _ := text(e)
				if id := b.addValue("email-addr", emailAddr(s)); id != "" && !slices.Contains(ids, any(id)) {
					ids = append(ids, id)
				}
			}
		}
		if len(ids) > 0 {
			msg[key] = ids
		}
	}
	addrs("to_refs", get(email, "to"), get(smtp, "rcpt_to"))
	addrs("cc_refs", get(email, "cc"))
	if len(msg) == 0 {
		return
	}
	setStr(msg, "subject", str(email, "subject"))
	attachments, _ := get(email, "attachment").([]any)
	msg["is_multipart"] = len(attachments) > 0
	b.add("email-message", msg)
}

// emailAddr takes the address out of "Name <user@example.com>" or
// "<user@example.com>"; "" when there is none.
func emailAddr(s string) string {
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			s = s[i+1 : i+j]
		}
	}
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '@') <= 0 || strings.ContainsAny(s, " <>,") {
		return ""
	}
	return s
}
