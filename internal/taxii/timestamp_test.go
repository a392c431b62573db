package taxii

import (
	"testing"
	"time"
)

func TestFormatTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2016, 2, 21, 5, 1, 1, 0, time.UTC), "2016-02-21T05:01:01.000000Z"},
		{time.Date(2016, 2, 21, 5, 1, 1, 123456789, time.UTC), "2016-02-21T05:01:01.123456Z"},
		{time.Date(2016, 2, 21, 10, 31, 1, 0, time.FixedZone("IST", 5*3600+1800)), "2016-02-21T05:01:01.000000Z"},
	}
	for _, tt := range tests {
		if got := FormatTimestamp(tt.in); got != tt.want {
			t.Errorf("FormatTimestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	good := []struct {
		in   string
		want time.Time
	}{
		{"2016-02-21T05:01:01Z", time.Date(2016, 2, 21, 5, 1, 1, 0, time.UTC)},
		{"2016-02-21T05:01:01.1Z", time.Date(2016, 2, 21, 5, 1, 1, 100000000, time.UTC)},
		{"2016-02-21T05:01:01.000000Z", time.Date(2016, 2, 21, 5, 1, 1, 0, time.UTC)},
		{"2016-02-21T05:01:01.123456789Z", time.Date(2016, 2, 21, 5, 1, 1, 123456789, time.UTC)},
		{"2016-02-21T05:01:01.1234567891Z", time.Date(2016, 2, 21, 5, 1, 1, 123456789, time.UTC)},
		{"2016-02-29T23:59:59.999Z", time.Date(2016, 2, 29, 23, 59, 59, 999000000, time.UTC)},
	}
	for _, tt := range good {
		got, err := ParseTimestamp(tt.in)
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []string{
		"", "2016-02-21", "2016-02-21T05:01:01", "2016-02-21T05:01:01+00:00",
		"2016-02-21t05:01:01Z", "2016-02-21T05:01:01z", "2016-02-21T05:01:01.Z",
		"2016-02-30T05:01:01Z", "2016-13-01T05:01:01Z", "2016-02-21T24:00:00Z",
		"2016-02-21 05:01:01Z", "2016-02-21T05:01:01.1a2Z", "+016-02-21T05:01:01Z",
		"2015-02-29T00:00:00Z", "2016-02-21T05:01:01.000000ZZ",
	}
	for _, s := range bad {
		if got, err := ParseTimestamp(s); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want error", s, got)
		}
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	in := time.Date(2026, 11, 26, 15, 4, 5, 123456000, time.UTC)
	b, err := Timestamp(in).MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var out Timestamp
	if err := out.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	if !out.Time().Equal(in) {
		t.Errorf("round trip: got %v, want %v", out.Time(), in)
	}
}
