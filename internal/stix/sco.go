package stix

import (
	"net/netip"
	"strings"
)

// Predefined SCO extensions, with the properties the specification requires.
var (
	extArchive = sub(map[string]*prop{
		"contains_refs": required(refs(refTo("file", "directory"))), "comment": str(),
	})
	extNTFS = sub(map[string]*prop{
		"sid": str(),
		"alternate_data_streams": objList(sub(map[string]*prop{
			"name": reqStr(), "hashes": hashes(), "size": intRange(0, maxSafeInt-1),
		})),
	})
	extPDF = sub(map[string]*prop{
		"version": str(), "is_optimized": boolean(), "document_info_dict": dict(), "pdfid0": str(), "pdfid1": str(),
	})
	extRaster = sub(map[string]*prop{
		"image_height": integer(), "image_width": integer(), "bits_per_pixel": integer(), "exif_tags": dict(),
	})
	extPE = sub(map[string]*prop{
		"pe_type": reqStr(), "imphash": str(), "machine_hex": hex(), "number_of_sections": intRange(0, maxSafeInt-1),
		"time_date_stamp": ts(), "pointer_to_symbol_table_hex": hex(), "number_of_symbols": intRange(0, maxSafeInt-1),
		"size_of_optional_header": intRange(0, maxSafeInt-1), "characteristics_hex": hex(),
		"file_header_hashes": hashes(), "optional_header": {kind: kObject, sub: sub(nil)},
		"sections": objList(sub(map[string]*prop{
			"name": reqStr(), "size": intRange(0, maxSafeInt-1), "entropy": {kind: kFloat}, "hashes": hashes(),
		})),
	})
	extHTTPRequest = sub(map[string]*prop{
		"request_method": reqStr(), "request_value": reqStr(), "request_version": str(),
		"request_header": dict(), "message_body_length": intRange(0, maxSafeInt-1),
		"message_body_data_ref": ref(refTo("artifact")),
	})
	extICMP = sub(map[string]*prop{
		"icmp_type_hex": required(hex()), "icmp_code_hex": required(hex()),
	})
	extSocket = sub(map[string]*prop{
		"address_family": required(enum("AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH")),
		"is_blocking":    boolean(), "is_listening": boolean(), "options": dict(),
		"socket_type":       enum("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"),
		"socket_descriptor": intRange(0, maxSafeInt-1), "socket_handle": integer(),
	})
	extTCP = sub(map[string]*prop{
		"src_flags_hex": hex(), "dst_flags_hex": hex(),
	})
	extWindowsProcess = sub(map[string]*prop{
		"aslr_enabled": boolean(), "dep_enabled": boolean(), "priority": str(), "owner_sid": str(),
		"window_title": str(), "startup_info": dict(),
		"integrity_level": enum("low", "medium", "high", "system"),
	})
	extWindowsService = sub(map[string]*prop{
		"service_name": str(), "descriptions": strList(), "display_name": str(), "group_name": str(),
		"start_type":       enum("SERVICE_AUTO_START", "SERVICE_BOOT_START", "SERVICE_DEMAND_START", "SERVICE_DISABLED", "SERVICE_SYSTEM_ALERT"),
		"service_dll_refs": refs(refTo("file")),
		"service_type":     enum("SERVICE_KERNEL_DRIVER", "SERVICE_FILE_SYSTEM_DRIVER", "SERVICE_WIN32_OWN_PROCESS", "SERVICE_WIN32_SHARE_PROCESS"),
		"service_status":   enum("SERVICE_CONTINUE_PENDING", "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED", "SERVICE_RUNNING", "SERVICE_START_PENDING", "SERVICE_STOP_PENDING", "SERVICE_STOPPED"),
	})
	extUnixAccount = sub(map[string]*prop{
		"gid": integer(), "groups": strList(), "home_dir": str(), "shell": str(),
	})
)

var registryDataTypes = []string{
	"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
	"REG_DWORD_LITTLE_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST",
	"REG_FULL_RESOURCE_DESCRIPTION", "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD", "REG_INVALID_TYPE",
}

func initSCOs() {
	nonNeg := func() *prop { return intRange(0, maxSafeInt-1) }
	addrRefs := refTo("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name")
	scos := map[string]*objSpec{
		"artifact": withExtra(sco(map[string]*prop{
			"mime_type": str(), "payload_bin": {kind: kBinary}, "url": absURL(), "hashes": hashes(),
			"encryption_algorithm": enum("AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"),
			"decryption_key":       str(),
		}), all(notBoth("payload_bin", "url"), func(v *validator, m map[string]any) {
			if _, ok := m["decryption_key"]; ok {
				if _, ok := m["encryption_algorithm"]; !ok {
					p := key(nil, "decryption_key")
					v.fail(&p, "must not be present without encryption_algorithm")
				}
			}
			if _, ok := m["url"]; ok {
				if _, ok := m["hashes"]; !ok {
					p := key(nil, "hashes")
					v.fail(&p, "required when url is present")
				}
			}
		})),
		"autonomous-system": sco(map[string]*prop{
			"number": required(nonNeg()), "name": str(), "rir": str(),
		}),
		"directory": sco(map[string]*prop{
			"path": reqStr(), "path_enc": str(), "ctime": ts(), "mtime": ts(), "atime": ts(),
			"contains_refs": refs(refTo("file", "directory")),
		}),
		"domain-name": sco(map[string]*prop{
			"value": reqStr(), "resolves_to_refs": refs(refTo("ipv4-addr", "ipv6-addr", "domain-name")),
		}),
		"email-addr": sco(map[string]*prop{
			"value": reqStr(), "display_name": str(), "belongs_to_ref": ref(refTo("user-account")),
		}),
		"email-message": withExtra(sco(map[string]*prop{
			"is_multipart": {kind: kBool, required: true}, "date": ts(), "content_type": str(),
			"from_ref": ref(refTo("email-addr")), "sender_ref": ref(refTo("email-addr")),
			"to_refs": refs(refTo("email-addr")), "cc_refs": refs(refTo("email-addr")), "bcc_refs": refs(refTo("email-addr")),
			"message_id": str(), "subject": str(), "received_lines": strList(), "additional_header_fields": dict(),
			"body": str(),
			"body_multipart": objList(withSub(sub(map[string]*prop{
				"body": str(), "body_raw_ref": ref(refTo("artifact", "file")), "content_type": str(), "content_disposition": str(),
			}), func(v *validator, p *path, m map[string]any) {
				_, b := m["body"]
				_, r := m["body_raw_ref"]
				if b == r {
					v.fail(p, "MIME part needs exactly one of body and body_raw_ref")
				}
			})),
			"raw_email_ref": ref(refTo("artifact")),
		}), func(v *validator, m map[string]any) {
			switch m["is_multipart"] {
			case true:
				if _, ok := m["body"]; ok {
					p := key(nil, "body")
					v.fail(&p, "must not be present when is_multipart is true")
				}
			case false:
				if _, ok := m["body_multipart"]; ok {
					p := key(nil, "body_multipart")
					v.fail(&p, "must not be present when is_multipart is false")
				}
			}
		}),
		"file": withExtra(scoExt(sco(map[string]*prop{
			"hashes": hashes(), "size": nonNeg(), "name": str(), "name_enc": str(), "magic_number_hex": hex(),
			"mime_type": str(), "ctime": ts(), "mtime": ts(), "atime": ts(),
			"parent_directory_ref": ref(refTo("directory")), "contains_refs": refs(refSCO),
			"content_ref": ref(refTo("artifact")),
		}), map[string]*objSpec{
			"archive-ext": extArchive, "ntfs-ext": extNTFS, "pdf-ext": extPDF,
			"raster-image-ext": extRaster, "windows-pebinary-ext": extPE,
		}), atLeastOne("hashes", "name")),
		"ipv4-addr": withExtra(sco(map[string]*prop{
			"value": reqStr(), "resolves_to_refs": refs(refTo("mac-addr")),
			"belongs_to_refs": refs(refTo("autonomous-system")),
		}), checkIPValue(false)),
		"ipv6-addr": withExtra(sco(map[string]*prop{
			"value": reqStr(), "resolves_to_refs": refs(refTo("mac-addr")),
			"belongs_to_refs": refs(refTo("autonomous-system")),
		}), checkIPValue(true)),
		"mac-addr": withExtra(sco(map[string]*prop{
			"value": reqStr(),
		}), checkMAC),
		"mutex": sco(map[string]*prop{
			"name": reqStr(),
		}),
		"network-traffic": withExtra(scoExt(sco(map[string]*prop{
			"start": ts(), "end": ts(), "is_active": boolean(),
			"src_ref": ref(addrRefs), "dst_ref": ref(addrRefs),
			"src_port": intRange(0, 65535), "dst_port": intRange(0, 65535),
			"protocols":      required(strList()),
			"src_byte_count": nonNeg(), "dst_byte_count": nonNeg(), "src_packets": nonNeg(), "dst_packets": nonNeg(),
			"ipfix": dict(), "src_payload_ref": ref(refTo("artifact")), "dst_payload_ref": ref(refTo("artifact")),
			"encapsulates_refs": refs(refTo("network-traffic")), "encapsulated_by_ref": ref(refTo("network-traffic")),
		}), map[string]*objSpec{
			"http-request-ext": extHTTPRequest, "icmp-ext": extICMP, "socket-ext": extSocket, "tcp-ext": extTCP,
		}), all(atLeastOne("src_ref", "dst_ref"), lastNotBefore("start", "end", false), func(v *validator, m map[string]any) {
			if m["is_active"] == true {
				if _, ok := m["end"]; ok {
					p := key(nil, "end")
					v.fail(&p, "must not be present when is_active is true")
				}
			}
		})),
		"process": withExtra(scoExt(sco(map[string]*prop{
			"is_hidden": boolean(), "pid": integer(), "created_time": ts(), "cwd": str(), "command_line": str(),
			"environment_variables": dict(), "opened_connection_refs": refs(refTo("network-traffic")),
			"creator_user_ref": ref(refTo("user-account")), "image_ref": ref(refTo("file")),
			"parent_ref": ref(refTo("process")), "child_refs": refs(refTo("process")),
		}), map[string]*objSpec{
			"windows-process-ext": extWindowsProcess, "windows-service-ext": extWindowsService,
		}), atLeastOneOtherOrExtensions),
		"software": sco(map[string]*prop{
			"name": reqStr(), "cpe": str(), "swid": str(), "languages": strList(), "vendor": str(), "version": str(),
		}),
		"url": sco(map[string]*prop{
			"value": {kind: kURL, required: true},
		}),
		"user-account": withExtra(scoExt(sco(map[string]*prop{
			"user_id": str(), "credential": str(), "account_login": str(), "account_type": str(),
			"display_name": str(), "is_service_account": boolean(), "is_privileged": boolean(),
			"can_escalate_privs": boolean(), "is_disabled": boolean(), "account_created": ts(),
			"account_expires": ts(), "credential_last_changed": ts(), "account_first_login": ts(),
			"account_last_login": ts(),
		}), map[string]*objSpec{"unix-account-ext": extUnixAccount}), atLeastOneOtherOrExtensions),
		"windows-registry-key": withExtra(sco(map[string]*prop{
			"key": str(),
			"values": objList(sub(map[string]*prop{
				"name": str(), "data": str(), "data_type": enum(registryDataTypes...),
			})),
			"modified_time": ts(), "creator_user_ref": ref(refTo("user-account")), "number_of_subkeys": nonNeg(),
		}), atLeastOneOther),
		"x509-certificate": withExtra(sco(map[string]*prop{
			"is_self_signed": boolean(), "hashes": hashes(), "version": str(), "serial_number": str(),
			"signature_algorithm": str(), "issuer": str(), "validity_not_before": ts(), "validity_not_after": ts(),
			"subject": str(), "subject_public_key_algorithm": str(), "subject_public_key_modulus": str(),
			"subject_public_key_exponent": nonNeg(),
			"x509_v3_extensions":          {kind: kObject, sub: sub(nil)},
		}), all(atLeastOneOther, lastNotBefore("validity_not_before", "validity_not_after", false))),
	}
	for k, s := range scos {
		types[k] = s
	}
}

// atLeastOneOtherOrExtensions: for process and user-account an extension
// alone is enough content.
func atLeastOneOtherOrExtensions(v *validator, m map[string]any) {
	for k := range m {
		if commonSCO[k] == nil || k == "extensions" {
			return
		}
	}
	v.fail(nil, "at least one property besides the common ones is required")
}

// checkIPValue accepts an address or a CIDR block, as the specification
// allows both in value.
func checkIPValue(v6 bool) func(v *validator, m map[string]any) {
	return func(v *validator, m map[string]any) {
		s, ok := m["value"].(string)
		if !ok {
			return
		}
		var a netip.Addr
		var err error
		if strings.Contains(s, "/") {
			var pfx netip.Prefix
			pfx, err = netip.ParsePrefix(s)
			a = pfx.Addr()
		} else {
			a, err = netip.ParseAddr(s)
		}
		if err == nil && a.Zone() == "" && (v6 && a.Is6() && !a.Is4In6() || !v6 && a.Is4()) || err == nil && v6 && a.Is4In6() {
			return
		}
		p := key(nil, "value")
		if v6 {
			v.fail(&p, "must be an IPv6 address or CIDR block")
		} else {
			v.fail(&p, "must be an IPv4 address or CIDR block")
		}
	}
}

// checkMAC: the specification requires the colon-delimited, lowercase,
// zero-padded form of an EUI-48 or EUI-64 address.
func checkMAC(v *validator, m map[string]any) {
	s, ok := m["value"].(string)
	if !ok {
		return
	}
	okLen := len(s) == 17 || len(s) == 23
	for i := 0; okLen && i < len(s); i++ {
		c := s[i]
		if i%3 == 2 {
			okLen = c == ':'
		} else {
			okLen = c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
		}
	}
	if !okLen {
		p := key(nil, "value")
		v.fail(&p, "must be a lowercase, colon-delimited MAC address")
	}
}
