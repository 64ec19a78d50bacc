// Command cloudplane-test-idp is the OIDC identity provider cloudplane's tests
// sign in against: github.com/oauth2-proxy/mockoidc (discovery, JWKS,
// authorize, token, userinfo under <issuer> = http://<addr>/oidc) plus a
// control API the tests drive:
//
//	POST /control/user    the next authorization signs in this user; the body
//	                      may also bend the ID token: aud, iss, nonce, exp/iat
//	                      offsets (seconds from now), bad_signature
//	POST /control/rotate  a new signing key (new kid); the JWKS shows only it
//	GET  /control/stats   {"jwks_fetches": n, "token_requests": n}
//
// Authorization is auto-approved. It prints one JSON line with the issuer,
// client id and client secret when it listens, then serves until killed.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// userSpec is what POST /control/user takes.
type userSpec struct {
	Sub           string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Groups        []string `json:"groups"`
	Name          string   `json:"name"`
	Aud           []string `json:"aud"`
	Iss           string   `json:"iss"`
	Nonce         *string  `json:"nonce"`
	ExpOffset     *int64   `json:"exp_offset"`
	IatOffset     *int64   `json:"iat_offset"`
	BadSignature  bool     `json:"bad_signature"`
}

type user struct {
	spec userSpec
	now  func() time.Time
}

type claims struct {
	*mockoidc.IDTokenClaims
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
}

func (u *user) ID() string { return u.spec.Sub }

func (u *user) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.spec.Sub, "email": u.spec.Email, "groups": u.spec.Groups})
}

func (u *user) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	s := u.spec
	if len(s.Aud) > 0 {
		c.Audience = jwt.ClaimStrings(s.Aud)
	}
	if s.Iss != "" {
		c.Issuer = s.Iss
	}
	if s.Nonce != nil {
		c.Nonce = *s.Nonce
	}
	now := u.now()
	if s.ExpOffset != nil {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Duration(*s.ExpOffset) * time.Second))
	}
	if s.IatOffset != nil {
		c.IssuedAt = jwt.NewNumericDate(now.Add(time.Duration(*s.IatOffset) * time.Second))
	}
	verified := true
	if s.EmailVerified != nil {
		verified = *s.EmailVerified
	}
	return &claims{IDTokenClaims: c, Email: s.Email, EmailVerified: verified, Name: s.Name, Groups: s.Groups}, nil
}

type idp struct {
	m             *mockoidc.MockOIDC
	mu            sync.Mutex
	badSigSubs    map[string]bool
	jwksFetches   atomic.Int64
	tokenRequests atomic.Int64
}

// tamper flips the ID token's signature, keeping it well-formed base64url.
func tamper(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	if i < 0 || i+2 >= len(tok) {
		return tok
	}
	sig := []byte(tok[i+1:])
	if sig[2] == 'A' {
		sig[2] = 'B'
	} else {
		sig[2] = 'A'
	}
	return tok[:i+1] + string(sig)
}

// middleware counts JWKS fetches and token requests, and breaks the
// signature of ID tokens issued to a user queued with bad_signature.
func (p *idp) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case mockoidc.JWKSEndpoint:
			p.jwksFetches.Add(1)
		case mockoidc.TokenEndpoint:
			p.tokenRequests.Add(1)
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			var tr map[string]any
			if rec.Code == http.StatusOK && json.Unmarshal(body, &tr) == nil {
				if id, ok := tr["id_token"].(string); ok && p.takeBadSig(id) {
					tr["id_token"] = tamper(id)
					body, _ = json.Marshal(tr)
				}
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (p *idp) takeBadSig(idToken string) bool {
	parser := jwt.NewParser()
	var c jwt.RegisteredClaims
	if _, _, err := parser.ParseUnverified(idToken, &c); err != nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.badSigSubs[c.Subject] {
		delete(p.badSigSubs, c.Subject)
		return true
	}
	return false
}

func (p *idp) control(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/control/user":
		var s userSpec
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil || s.Sub == "" {
			http.Error(w, `{"error":"a JSON body with sub"}`, http.StatusBadRequest)
			return
		}
		if s.BadSignature {
			p.mu.Lock()
			p.badSigSubs[s.Sub] = true
			p.mu.Unlock()
		}
		p.m.QueueUser(&user{spec: s, now: p.m.Now})
		_, _ = w.Write([]byte(`{"queued":true}`))
	case r.Method == http.MethodPost && r.URL.Path == "/control/rotate":
		kp, err := mockoidc.RandomKeypair(2048)
		if err != nil {
			http.Error(w, `{"error":"keygen"}`, http.StatusInternalServerError)
			return
		}
		p.m.Keypair = kp
		kid, _ := kp.KeyID()
		_ = json.NewEncoder(w).Encode(map[string]string{"kid": kid})
	case r.Method == http.MethodGet && r.URL.Path == "/control/stats":
		kid, _ := p.m.Keypair.KeyID()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"jwks_fetches": p.jwksFetches.Load(), "token_requests": p.tokenRequests.Load(), "kid": kid})
	default:
		http.NotFound(w, r)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	clientID := flag.String("client-id", "cloudplane", "the client id it accepts")
	secretFile := flag.String("client-secret-file", "", "file holding the client secret (default: a random one, printed)")
	flag.Parse()

	m, err := mockoidc.NewServer(nil)
	if err != nil {
		log.Fatal(err)
	}
	m.ClientID = *clientID
	if *secretFile != "" {
		b, err := os.ReadFile(*secretFile)
		if err != nil {
			log.Fatal(err)
		}
		m.ClientSecret = string(bytes.TrimSpace(b))
	}
	m.CodeChallengeMethodsSupported = []string{"S256"}
	kp, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		log.Fatal(err)
	}
	m.Keypair = kp
	p := &idp{m: m, badSigSubs: map[string]bool{}}
	if err := m.AddMiddleware(p.middleware); err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		log.Fatal(err)
	}
	// mockoidc builds its own mux; ours sends /control/ here and the rest
	// there. Set before the first request can arrive (the line below says
	// we listen).
	mux := http.NewServeMux()
	mux.HandleFunc("/control/", p.control)
	mux.Handle("/", m.Server.Handler)
	m.Server.Handler = mux
	info, _ := json.Marshal(map[string]string{
		"issuer": m.Issuer(), "client_id": m.ClientID, "client_secret": m.ClientSecret, "addr": ln.Addr().String()})
	fmt.Println(string(info))
	select {}
}
