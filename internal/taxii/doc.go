// Package taxii holds the TAXII 2.1 vocabulary shared by Setu's server and
// its client: media types and their negotiation, the JSON resources exactly
// as the specification names them, the error message resource, the URL
// filter parameters of the collection endpoints, and an HTTP client for any
// conformant TAXII 2.1 server.
//
// Contract:
//
//   - Resources marshal with the specification's member names. Optional
//     lists are omitted when empty, so an empty result never carries an
//     empty list; counts and booleans the specification requires are always
//     written. Envelope objects are kept as the exact bytes received, so a
//     relay never re-encodes (and never alters) an object.
//   - Timestamps are written in UTC with microsecond precision and a
//     trailing Z (2016-02-21T05:01:01.000000Z). On input any RFC 3339 UTC
//     form with a Z and zero or more fractional digits is accepted.
//   - ParseFilter reads the URL parameters of one endpoint. Unknown
//     parameters are ignored and reported in Filter.Ignored; a malformed
//     value of a known parameter, a repeated parameter, or a known parameter
//     the endpoint does not define yields a *FilterError, which the server
//     answers with 400.
//   - Error is the TAXII error message resource and a Go error; its
//     http_status member is a string equal to the HTTP status code.
//   - Client methods are safe for concurrent use. A non-2xx answer is
//     returned as *Error; "not found" is an error, never a nil result.
//
// The package depends on neither storage nor policy: it describes the wire,
// and the server package decides what to put on it.
package taxii
