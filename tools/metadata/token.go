package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// Limits of an IMDSv2 session token's lifetime, in seconds, as on EC2.
const (
	MinTokenTTL = 1
	MaxTokenTTL = 21600
)

// tokens are the IMDSv2 session tokens handed out and not yet expired.
//
// Limitation: tokens live in the service's memory, so a restart of the service invalidates
// them and a guest with --require-token gets 401 until it asks for a new one, as its SDK does.
type tokens struct {
	now func() time.Time

	mu      sync.Mutex
	expires map[string]time.Time
}

func newTokens(now func() time.Time) *tokens {
	return &tokens{now: now, expires: map[string]time.Time{}}
}

// issue returns a new token valid for ttl.
func (t *tokens) issue(ttl time.Duration) string {
	secret := make([]byte, 32)
	rand.Read(secret) // never fails, per crypto/rand
	token := base64.RawURLEncoding.EncodeToString(secret)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropExpired()
	t.expires[token] = t.now().Add(ttl)
	return token
}

// valid reports whether token was issued here and has not expired.
func (t *tokens) valid(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	expires, ok := t.expires[token]
	return ok && t.now().Before(expires)
}

func (t *tokens) dropExpired() {
	now := t.now()
	for token, expires := range t.expires {
		if !now.Before(expires) {
			delete(t.expires, token)
		}
	}
}
