package event_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/setu-cti/setu/internal/event"
	"github.com/setu-cti/setu/internal/match"
	"github.com/setu-cti/setu/internal/stix/pattern"
)

// A sensor's own field names, mapped onto the STIX objects an indicator
// names, then matched.
func Example() {
	mapping, err := event.ParseMapping([]byte(`
ts       = first_observed
client   = network-traffic:src_ref.value
server   = network-traffic:dst_ref.value
port     = network-traffic:dst_port
sni      = domain-name:value
`))
	if err != nil {
		panic(err)
	}
	in := `{"ts":"2024-05-01T12:00:00Z","client":"192.0.2.10","server":"198.51.100.7","port":443,"sni":"evil.example"}
{"ts":"2024-05-01T12:00:01Z","client":"192.0.2.11","server":
{"ts":"2024-05-01T12:00:02Z","client":"192.0.2.12","server":"203.0.113.5","port":443,"sni":"good.example"}
`
	m, err := match.Compile(pattern.MustParse("[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]"))
	if err != nil {
		panic(err)
	}
	r, err := event.NewReader(strings.NewReader(in), event.Auto, event.Options{Mapping: mapping})
	if err != nil {
		panic(err)
	}
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		var le *event.LineError
		if errors.As(err, &le) {
			fmt.Println("skipped:", le)
			continue
		}
		if err != nil {
			panic(err)
		}
		_, ok := m.Match([]match.Observation{ev.Observation})
		fmt.Printf("line %d: %d observables, match %v\n", ev.Line, len(ev.Observation.Objects), ok)
	}
	// Output:
	// line 1: 4 observables, match true
	// skipped: line 2: invalid JSON: unexpected end of line
	// line 3: 4 observables, match false
}
