package metadata

import (
	"bytes"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const (
	webGuest     = "10.0.2.15"
	quietGuest   = "10.0.2.16"
	leasedGuest  = "10.0.2.30" // has a record by MAC only; testdata/arp gives its MAC
	unknownGuest = "10.0.2.99"
)

var testStart = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestServer(t *testing.T, requireToken bool) (*Server, *bytes.Buffer) {
	t.Helper()
	var logged bytes.Buffer
	server := NewServer(Config{
		Store:        NewStore("testdata/records"),
		Neighbours:   ProcARP("testdata/arp"),
		RequireToken: requireToken,
		Log:          log.New(&logged, "", 0),
		Now:          func() time.Time { return testStart },
	})
	return server, &logged
}

type request struct {
	method  string
	path    string
	source  string
	headers map[string]string
}

func (r request) do(t *testing.T, server http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	req := httptest.NewRequest(method, "http://169.254.169.254"+r.path, nil)
	req.RemoteAddr = r.source + ":40000"
	for name, value := range r.headers {
		req.Header.Set(name, value)
	}
	response := httptest.NewRecorder()
	server.ServeHTTP(response, req)
	return response
}

func TestServerAnswersEachGuestWithItsOwnRecord(t *testing.T) {
	tests := []struct {
		name   string
		source string
		path   string
		status int
		body   string
	}{
		{"user-data of a record", webGuest, "/latest/user-data", 200,
			`{"PORT":"8080","MODE": "debug"}`},
		{"default user-data of an unknown guest", unknownGuest, "/latest/user-data", 200, "{}"},
		{"default user-data of a record without", leasedGuest, "/latest/user-data", 200, "{}"},
		{"no user-data when the record says none", quietGuest, "/latest/user-data", 404,
			"not found\n"},
		{"meta-data index", webGuest, "/latest/meta-data/", 200, "ami-id\nhostname\n" +
			"instance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nplacement/"},
		{"meta-data index without slash", webGuest, "/latest/meta-data", 200, "ami-id\n" +
			"hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nplacement/"},
		{"latest index", unknownGuest, "/latest/", 200, "dynamic\nmeta-data\nuser-data"},
		{"instance-id of a record", webGuest, "/latest/meta-data/instance-id", 200,
			"i-0123456789abcdef0"},
		{"instance-id of an unknown guest from its address", unknownGuest,
			"/latest/meta-data/instance-id", 200, "i-0000000000a000263"},
		{"ami-id", webGuest, "/latest/meta-data/ami-id", 200, "ami-0fedcba9876543210"},
		{"default ami-id", unknownGuest, "/latest/meta-data/ami-id", 200, DefaultImageID},
		{"instance-type", webGuest, "/latest/meta-data/instance-type", 200, "m1.large"},
		{"default instance-type", quietGuest, "/latest/meta-data/instance-type", 200,
			"t1.micro"},
		{"local-ipv4 of a record", webGuest, "/latest/meta-data/local-ipv4", 200, webGuest},
		{"local-ipv4 of a guest found by MAC", leasedGuest, "/latest/meta-data/local-ipv4",
			200, leasedGuest},
		{"local-hostname outside us-east-1", webGuest, "/latest/meta-data/local-hostname",
			200, "ip-10-0-2-15.eu-west-1.compute.internal"},
		{"local-hostname in us-east-1", unknownGuest, "/latest/meta-data/local-hostname",
			200, "ip-10-0-2-99.ec2.internal"},
		{"mac of a record", webGuest, "/latest/meta-data/mac", 200, "00:16:3e:00:00:15"},
		{"mac from the neighbour table", leasedGuest, "/latest/meta-data/mac", 200,
			"00:16:3E:AA:BB:CC"},
		{"no mac when dom0 does not know it", unknownGuest, "/latest/meta-data/mac", 404,
			"not found\n"},
		{"placement index", webGuest, "/latest/meta-data/placement/", 200,
			"availability-zone\nregion"},
		{"availability zone", webGuest, "/latest/meta-data/placement/availability-zone", 200,
			"eu-west-1b"},
		{"default availability zone", unknownGuest,
			"/latest/meta-data/placement/availability-zone", 200, "us-east-1a"},
		{"unknown leaf", webGuest, "/latest/meta-data/iam/info", 404, "not found\n"},
		{"unknown version", webGuest, "/2009-04-04/user-data", 404, "not found\n"},
	}
	server, _ := newTestServer(t, false)
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			response := request{path: test.path, source: test.source}.do(t, server)

			if response.Code != test.status || response.Body.String() != test.body {
				t.Errorf("GET %s from %s = %d %q, want %d %q", test.path, test.source,
					response.Code, response.Body.String(), test.status, test.body)
			}
		})
	}
}

func TestIdentityDocumentDescribesTheGuest(t *testing.T) {
	tests := []struct {
		source string
		want   map[string]string
	}{
		{webGuest, map[string]string{"instanceId": "i-0123456789abcdef0",
			"imageId": "ami-0fedcba9876543210", "instanceType": "m1.large",
			"privateIp": webGuest, "availabilityZone": "eu-west-1b", "region": "eu-west-1",
			"accountId": "123456789012", "architecture": "x86_64",
			"pendingTime": "2024-05-06T07:08:09Z", "version": "2017-09-30"}},
		{unknownGuest, map[string]string{"instanceId": "i-0000000000a000263",
			"imageId": DefaultImageID, "instanceType": "t1.micro", "privateIp": unknownGuest,
			"availabilityZone": "us-east-1a", "region": "us-east-1",
			"accountId": DefaultAccountID, "architecture": "x86_64",
			"pendingTime": "2025-01-02T03:04:05Z", "version": "2017-09-30"}},
	}
	server, _ := newTestServer(t, false)
	for _, test := range tests {
		t.Run(test.source, func(t *testing.T) {
			response := request{path: "/latest/dynamic/instance-identity/document",
				source: test.source}.do(t, server)

			var document map[string]string
			if err := json.Unmarshal(response.Body.Bytes(), &document); err != nil {
				t.Fatalf("document is not a JSON object of strings: %v\n%s", err,
					response.Body)
			}
			for key, want := range test.want {
				if document[key] != want {
					t.Errorf("%s = %q, want %q", key, document[key], want)
				}
			}
		})
	}
}

func TestTokenRequestFollowsEC2Rules(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		status  int
	}{
		{"valid ttl", http.MethodPut, map[string]string{TokenTTLHeader: "21600"}, 200},
		{"smallest ttl", http.MethodPut, map[string]string{TokenTTLHeader: "1"}, 200},
		{"missing ttl", http.MethodPut, nil, 400},
		{"zero ttl", http.MethodPut, map[string]string{TokenTTLHeader: "0"}, 400},
		{"ttl too long", http.MethodPut, map[string]string{TokenTTLHeader: "21601"}, 400},
		{"ttl not a number", http.MethodPut, map[string]string{TokenTTLHeader: "10s"}, 400},
		{"forwarded", http.MethodPut, map[string]string{TokenTTLHeader: "60",
			"X-Forwarded-For": "10.0.2.15"}, 403},
		{"GET of the token path", http.MethodGet, map[string]string{TokenTTLHeader: "60"},
			405},
	}
	server, _ := newTestServer(t, false)
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			response := request{method: test.method, path: "/latest/api/token",
				source: webGuest, headers: test.headers}.do(t, server)

			if response.Code != test.status {
				t.Fatalf("status %d, want %d (%q)", response.Code, test.status, response.Body)
			}
			if test.status == 200 && len(response.Body.String()) < 32 {
				t.Errorf("token %q is too short to be secret", response.Body)
			}
		})
	}
}

func TestTokenRules(t *testing.T) {
	now := testStart
	server := NewServer(Config{Store: NewStore("testdata/records"), RequireToken: true,
		Now: func() time.Time { return now }})
	token := request{method: http.MethodPut, path: "/latest/api/token", source: webGuest,
		headers: map[string]string{TokenTTLHeader: "60"}}.do(t, server).Body.String()
	lenient := NewServer(Config{Store: NewStore("testdata/records")})

	tests := []struct {
		name    string
		server  *Server
		token   string
		advance time.Duration
		status  int
	}{
		{"required and valid", server, token, 0, 200},
		{"required and missing", server, "", 0, 401},
		{"required and unknown", server, "not-a-token", 0, 401},
		{"required and about to expire", server, token, 59 * time.Second, 200},
		{"required and expired", server, token, 60 * time.Second, 401},
		{"optional and missing", lenient, "", 0, 200},
		{"optional and unknown", lenient, "not-a-token", 0, 401},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			now = testStart.Add(test.advance)
			headers := map[string]string{}
			if test.token != "" {
				headers[TokenHeader] = test.token
			}

			response := request{path: "/latest/user-data", source: webGuest,
				headers: headers}.do(t, test.server)

			if response.Code != test.status {
				t.Errorf("status %d, want %d", response.Code, test.status)
			}
		})
	}
}

func TestServerRefusesMethodsOtherThanGet(t *testing.T) {
	server, _ := newTestServer(t, false)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		response := request{method: method, path: "/latest/user-data",
			source: webGuest}.do(t, server)
		if response.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s /latest/user-data = %d, want 405", method, response.Code)
		}
	}
}

func TestServerLogsOneLinePerRequest(t *testing.T) {
	server, logged := newTestServer(t, false)

	request{path: "/latest/user-data", source: webGuest}.do(t, server)
	request{path: "/latest/nothing", source: unknownGuest}.do(t, server)

	lines := strings.Split(strings.TrimSuffix(logged.String(), "\n"), "\n")
	want := []string{
		`domain=web source=10.0.2.15 method=GET path="/latest/user-data" status=200 duration=`,
		`domain=- source=10.0.2.99 method=GET path="/latest/nothing" status=404 duration=`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log has %d lines, want %d:\n%s", len(lines), len(want), logged)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("log line %d = %q, want prefix %q", i, lines[i], want[i])
		}
	}
}

func TestUnknownIPv6GuestGetsAStableInstanceID(t *testing.T) {
	source := netip.MustParseAddr("fd00::15")

	first := derivedInstanceID("", false, source)
	second := derivedInstanceID("", false, source)

	if first != second || len(first) != len("i-0123456789abcdef0") {
		t.Errorf("instance ids %q and %q, want equal and EC2-shaped", first, second)
	}
}
