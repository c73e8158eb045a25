#!/usr/bin/env bash
# Checks the test OP end to end with curl: discovery, client_credentials (JWT and opaque +
# introspection), authorization code + PKCE by following redirects, /test/mint, /test/rotate,
# dynamic registration. Needs curl and python3.
#   tests/oidc/selftest.sh        (MXCP_TEST_NODE, MXCP_TEST_OIDC as ./dev test exports them)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
NODE="${MXCP_TEST_NODE:-node}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

coproc OP { exec "$NODE" "$here/op.mjs" 2>"$log"; }
if ! read -r -t 30 ready <&"${OP[0]}"; then
  echo "selftest: the OP printed no ready line; its stderr:" >&2; cat "$log" >&2; exit 1
fi
py() { python3 -c "$@"; }
field() { py "import json,sys; print(json.load(sys.stdin)$1)"; }
# decodes a JWT's header and payload (no verification: the checks below compare with /jwks)
jwt() { py "import base64,json,sys; p=sys.argv[1].split('.'); d=lambda s: json.loads(base64.urlsafe_b64decode(s+'='*(-len(s)%4))); print(json.dumps({'header': d(p[0]), 'payload': d(p[1])}))" "$1"; }
fail() { echo "selftest FAILED: $*" >&2; echo "--- OP stderr:" >&2; cat "$log" >&2; exit 1; }
check() { local what="$1"; shift; py "import json,sys; v=json.loads(sys.argv[1]); sys.exit(0 if ($*) else 1)" "$json" || fail "$what: $json"; echo "ok: $what"; }

issuer="$(field "['issuer']" <<<"$ready")"
echo "OP at $issuer"
resource="http://127.0.0.1:9999/mcp"

# (a) discovery, both well-known paths
json="$(curl -sf "$issuer/.well-known/openid-configuration")"
check "openid-configuration" "v['issuer'] == '$issuer' and v['jwks_uri'] == '$issuer/jwks' and 'S256' in v['code_challenge_methods_supported'] and v['registration_endpoint'] == '$issuer/reg' and 'client_credentials' in v['grant_types_supported']"
json="$(curl -sf "$issuer/.well-known/oauth-authorization-server")"
check "oauth-authorization-server" "v['issuer'] == '$issuer' and v['token_endpoint'] == '$issuer/token'"
jwks="$(curl -sf "$issuer/jwks")"

# (b) client_credentials for a resource: a JWT whose kid is in the JWKS
json="$(curl -sf -u mxcp-test:mxcp-test-secret -d grant_type=client_credentials -d scope=mcp:tools --data-urlencode "resource=$resource" "$issuer/token")"
json="$(jwt "$(field "['access_token']" <<<"$json")")"
echo "client_credentials JWT: $json"
check "client_credentials JWT claims" "v['payload']['iss'] == '$issuer' and v['payload']['aud'] == '$resource' and 'mcp:tools' in v['payload']['scope'].split() and v['payload']['sub'] == 'mxcp-test' and v['header']['kid'] in [k['kid'] for k in $jwks['keys']]"

# (c) an /opaque resource: opaque token, introspected by the resource server's client
json="$(curl -sf -u mxcp-test:mxcp-test-secret -d grant_type=client_credentials -d scope=mcp:tools --data-urlencode "resource=http://127.0.0.1:9999/opaque" "$issuer/token")"
opaque="$(field "['access_token']" <<<"$json")"
[[ "$opaque" != *.*.* ]] || fail "opaque token looks like a JWT: $opaque"
json="$(curl -sf -u mxcp-server:mxcp-server-secret --data-urlencode "token=$opaque" "$issuer/token/introspection")"
echo "introspection: $json"
check "introspection of the opaque token" "v['active'] is True and v['aud'] == 'http://127.0.0.1:9999/opaque' and v['scope'] == 'mcp:tools' and v['exp'] > 0"
curl -sf -u mxcp-server:mxcp-server-secret --data-urlencode "token=$opaque" "$issuer/token/revocation" >/dev/null
json="$(curl -sf -u mxcp-server:mxcp-server-secret --data-urlencode "token=$opaque" "$issuer/token/introspection")"
check "revoked token is inactive" "v == {'active': False}"

# (d) authorization code + PKCE, following redirects with no cookie jar; login_hint picks the account
verifier="$(py 'import secrets; print(secrets.token_urlsafe(48))')"
challenge="$(py 'import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$verifier")"
redirect="http://127.0.0.1:45678/callback"
auth_url="$(py 'import sys,urllib.parse as u; print(sys.argv[1] + "/auth?" + u.urlencode({"client_id": "mxcp-test", "response_type": "code", "redirect_uri": sys.argv[2], "scope": "openid email profile mcp:tools", "state": "st4te", "code_challenge": sys.argv[3], "code_challenge_method": "S256", "resource": sys.argv[4], "login_hint": "alice"}))' "$issuer" "$redirect" "$challenge" "$resource")"
# the redirect_uri has no listener: stop at the first redirect that leaves the OP
location="$auth_url"
for _ in 1 2 3 4 5 6; do
  [[ "$location" == "$issuer"* ]] || break
  location="$(curl -s -o /dev/null -w '%{redirect_url}' "$location")"
done
[[ "$location" == "$redirect?code="*"&state=st4te"* || "$location" == "$redirect?code="*"state=st4te"* ]] || fail "authorization ended at $location"
echo "ok: authorization redirected to $location"
code="$(py 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(sys.argv[1]).query)["code"][0])' "$location")"
json="$(curl -sf -u mxcp-test:mxcp-test-secret -d grant_type=authorization_code --data-urlencode "code=$code" --data-urlencode "redirect_uri=$redirect" --data-urlencode "code_verifier=$verifier" --data-urlencode "resource=$resource" "$issuer/token")"
refresh="$(field "['refresh_token']" <<<"$json")"
id_token="$(field "['id_token']" <<<"$json")"
json="$(jwt "$(field "['access_token']" <<<"$json")")"
echo "authorization_code JWT: $json"
check "authorization_code JWT claims" "v['payload']['sub'] == 'alice' and v['payload']['aud'] == '$resource' and v['payload']['email'] == 'alice@example.com' and v['payload']['groups'] == ['analysts'] and v['payload']['realm_access'] == {'roles': ['reader', 'writer']} and v['payload']['scope'].split() == ['openid', 'mcp:tools']"
json="$(jwt "$id_token")"
check "id_token" "v['payload']['sub'] == 'alice' and v['payload']['aud'] == 'mxcp-test'"
json="$(curl -sf -u mxcp-test:mxcp-test-secret -d grant_type=refresh_token --data-urlencode "refresh_token=$refresh" --data-urlencode "resource=$resource" "$issuer/token")"
json="$(jwt "$(field "['access_token']" <<<"$json")")"
check "refresh_token grant" "v['payload']['sub'] == 'alice' and v['payload']['aud'] == '$resource'"

# (e) /test/mint for each key kind
mint() { curl -sf -H 'content-type: application/json' -d "$1" "$issuer/test/mint" | field "['token']"; }
op_kid="$(field "['keys'][0]['kid']" <<<"$jwks")"
for kind in op op-ec foreign foreign-kid none hs256-with-public-key; do
  json="$(jwt "$(mint "{\"key\":\"$kind\",\"claims\":{\"sub\":\"carol\",\"aud\":\"$resource\",\"exp\":null}}")")"
  check "mint $kind" "v['payload']['sub'] == 'carol' and v['payload']['iss'] == '$issuer' and 'exp' not in v['payload'] and v['header']['alg'] == {'op': 'RS256', 'op-ec': 'ES256', 'foreign': 'RS256', 'foreign-kid': 'RS256', 'none': 'none', 'hs256-with-public-key': 'HS256'}['$kind'] and (v['header']['kid'] == '$op_kid') == ('$kind' in ('op', 'foreign', 'none', 'hs256-with-public-key'))"
done
status="$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{"key":"op-new"}' "$issuer/test/mint")"
[[ "$status" == 400 ]] || fail "op-new before any rotation answered $status"

# (f) rotation: a new kid in /jwks, minting with it
json="$(curl -sf -X POST "$issuer/test/rotate")"
new_kid="$(field "['kid']" <<<"$json")"
json="$(curl -sf "$issuer/jwks")"
check "rotated kid published" "'$new_kid' in [k['kid'] for k in v['keys']] and '$op_kid' in [k['kid'] for k in v['keys']]"
json="$(jwt "$(mint '{"key":"op-new","claims":{"sub":"dave"}}')")"
check "mint op-new" "v['header']['kid'] == '$new_kid'"
json="$(curl -sf "$issuer/test/stats")"
check "stats count jwks fetches" "v['jwks'] == 2 and v['discovery'] == 2"

# (g) dynamic client registration of a public client, then it runs the code flow
json="$(curl -sf -H 'content-type: application/json' -d '{"redirect_uris":["http://127.0.0.1:45679/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"scope":"mcp:tools"}' "$issuer/reg")"
check "registration" "v['client_id'] and v['token_endpoint_auth_method'] == 'none' and 'client_secret' not in v"

exec {OP[1]}>&-  # closing its stdin stops the OP
wait "$OP_PID" || true
echo "selftest: all checks passed"
