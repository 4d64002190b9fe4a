// Package metadata is the box's stand-in for EC2's instance metadata service: a unik guest
// blocks at boot until it reads http://169.254.169.254/latest/user-data, and the vif hook
// redirects each guest's traffic for that address to this service in dom0. Each domain sees
// its own record (user-data, instance type, ids), found by the address it calls from.
//
// A guest with no record gets defaults rather than an error: user-data `{}` (what unik
// expects; the service can be given other default user-data), instance type t1.micro, and an
// instance-id derived from its address. A domain started by hand with `xl create` then boots
// exactly as it did with the one-line Python server of the manual set-up, and the ids stay
// stable for as long as the address does.
package metadata

import (
	"log"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Headers of EC2's IMDSv2.
const (
	TokenHeader    = "X-aws-ec2-metadata-token"
	TokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
)

// Config is what a Server serves and how strictly.
type Config struct {
	Store      *Store
	Neighbours NeighbourTable // nil: records are found by IP only
	// RequireToken refuses GETs without a valid IMDSv2 token, like an instance with
	// HttpTokens=required.
	RequireToken bool
	// DefaultUserData is served to a guest whose record sets no user-data; "" means
	// the package's DefaultUserData.
	DefaultUserData string
	Log             *log.Logger      // one line per request; nil logs nothing
	Now             func() time.Time // nil means time.Now
}

// Server answers EC2 instance metadata requests from the guests.
type Server struct {
	config  Config
	tokens  *tokens
	started time.Time
}

// NewServer returns a Server for config.
func NewServer(config Config) *Server {
	if config.Now == nil {
		config.Now = time.Now
	}
	if config.DefaultUserData == "" {
		config.DefaultUserData = DefaultUserData
	}
	return &Server{config: config, tokens: newTokens(config.Now), started: config.Now()}
}

// ServeHTTP answers one request and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	source := sourceOf(r)

	domain := s.serve(recorder, r, source)

	if s.config.Log != nil {
		s.config.Log.Printf("domain=%s source=%s method=%s path=%q status=%d duration=%s",
			orDash(domain), source, r.Method, r.URL.Path, recorder.status,
			time.Since(began).Round(time.Microsecond))
	}
}

// serve answers the request and returns the caller's domain name, "" when it has no record.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, source netip.Addr) string {
	if r.URL.Path == "/latest/api/token" {
		s.issueToken(w, r)
		return ""
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return ""
	}
	if !s.authorised(r) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return ""
	}

	guest := s.instanceOf(source)
	body, found := guest.answer(strings.TrimSuffix(r.URL.Path, "/"))
	if !found {
		http.Error(w, "not found", http.StatusNotFound)
		return guest.Domain
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write([]byte(body))
	return guest.Domain
}

// issueToken answers PUT /latest/api/token the way EC2 does.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", "PUT")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// EC2 refuses tokens to requests that went through a proxy.
	if r.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	ttlText := r.Header.Get(TokenTTLHeader)
	if ttlText == "" {
		http.Error(w, "missing "+TokenTTLHeader, http.StatusBadRequest)
		return
	}
	ttl, err := strconv.Atoi(ttlText)
	if err != nil || ttl < MinTokenTTL || ttl > MaxTokenTTL {
		http.Error(w, TokenTTLHeader+" must be 1 to 21600", http.StatusBadRequest)
		return
	}

	token := s.tokens.issue(time.Duration(ttl) * time.Second)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set(TokenTTLHeader, ttlText)
	w.Write([]byte(token))
}

// authorised applies IMDSv2: a token that is present must be valid (as on EC2, even when
// tokens are optional), and with RequireToken one must be present.
func (s *Server) authorised(r *http.Request) bool {
	token := r.Header.Get(TokenHeader)
	if token == "" {
		return !s.config.RequireToken
	}
	return s.tokens.valid(token)
}

// instanceOf is what the guest calling from source sees.
func (s *Server) instanceOf(source netip.Addr) instance {
	var record Record
	found := false
	if s.config.Store != nil {
		var problems []error
		record, found, problems = s.config.Store.Lookup(source, s.config.Neighbours)
		for _, problem := range problems {
			if s.config.Log != nil {
				s.config.Log.Printf("skipping record: %v", problem)
			}
		}
	}
	record.UserData = or(record.UserData, s.config.DefaultUserData)
	return newInstance(record, found, source, s.neighbourMAC(source, record), s.started)
}

func (s *Server) neighbourMAC(source netip.Addr, record Record) string {
	if record.MAC != "" || s.config.Neighbours == nil {
		return record.MAC
	}
	mac, _ := s.config.Neighbours.MACOf(source)
	return mac
}

// sourceOf is the caller's address. DNAT rewrites the destination only, so it is the guest's.
func sourceOf(r *http.Request) netip.Addr {
	addressPort, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return addressPort.Addr().Unmap()
}

func orDash(text string) string {
	if text == "" {
		return "-"
	}
	return text
}

// statusRecorder remembers the status written, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
