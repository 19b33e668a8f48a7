#!/bin/sh
# Regenerate the seed corpus of fuzz_jws (tests/fuzz/fuzz_jws.c): compact
# JWSs, sign tokens and JWKs. Tokens are signed with the RFC 8037 A.1
# Ed25519 test key (public in fuzz_jws.c) by `openssl pkeyutl -rawin`,
# which is deterministic for Ed25519, so the seeds are the same on every
# run. Times are fixed around fuzz_jws.c's FUZZ_NOW (2026-01-01T00:00:10Z).
set -eu

out=$(cd "$(dirname "$0")" && pwd)/corpus/jws
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
seed() { printf '%s' "$2" > "$out/$1"; }

# RFC 8037 A.1 private key "d" as PKCS#8: the fixed Ed25519 prefix + d
d=nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A
{
	printf '%s' 302e020100300506032b657004220420 | xxd -r -p
	printf '%s=' "$d" | tr -- '-_' '+/' | base64 -d
} > "$work/ed.der"
openssl pkey -inform DER -in "$work/ed.der" -out "$work/ed.pem"

kid=kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k
aud=https://ca.example/a/demo/sign

# token NAME HEADER CLAIMS: sign with the Ed25519 key
token() {
	h=$(printf '%s' "$2" | b64url)
	p=$(printf '%s' "$3" | b64url)
	# openssl 3.0 signs Ed25519 in one shot: from a file, not a pipe
	printf '%s.%s' "$h" "$p" > "$work/tbs"
	openssl pkeyutl -sign -inkey "$work/ed.pem" -rawin -in "$work/tbs" \
		-out "$work/sig"
	s=$(b64url < "$work/sig")
	seed "$1" "$h.$p.$s"
}

hdr='{"alg":"EdDSA","kid":"'$kid'","typ":"JWT"}'
tail='"iss":"deploy","sub":"www.example.com","sans":["www.example.com","IP:10.0.0.1"],"jti":"c2VlZA"'

token token-ok "$hdr" '{"aud":"'$aud'","iat":1767225600,"nbf":1767225600,"exp":1767225900,'"$tail"'}'
token token-aud-array "$hdr" '{"aud":["x","'$aud'"],"nbf":1767225600,"exp":1767225900,'"$tail"'}'
token token-no-kid '{"alg":"EdDSA"}' '{"aud":"'$aud'","nbf":1767225600,"exp":1767225900,'"$tail"'}'
token token-expired "$hdr" '{"aud":"'$aud'","nbf":1767225000,"exp":1767225300,'"$tail"'}'
token token-not-yet "$hdr" '{"aud":"'$aud'","nbf":1767226000,"exp":1767226100,'"$tail"'}'
token token-too-long "$hdr" '{"aud":"'$aud'","nbf":1767225600,"exp":1767225901,'"$tail"'}'
token token-other-aud "$hdr" '{"aud":"https://ca.example/a/other/sign","nbf":1767225600,"exp":1767225900,'"$tail"'}'
token token-exp-string "$hdr" '{"aud":"'$aud'","nbf":1767225600,"exp":"1767225900",'"$tail"'}'
token token-no-sans "$hdr" '{"aud":"'$aud'","nbf":1767225600,"exp":1767225900,"iss":"d","sub":"s","jti":"j"}'
token token-typ-other '{"alg":"EdDSA","typ":"dpop+jwt"}' '{"aud":"'$aud'","nbf":1767225600,"exp":1767225900,'"$tail"'}'
token token-crit '{"alg":"EdDSA","crit":["exp"]}' '{"aud":"'$aud'","nbf":1767225600,"exp":1767225900,'"$tail"'}'
token token-dup-claim "$hdr" '{"aud":"'$aud'","aud":"x","nbf":1767225600,"exp":1767225900,'"$tail"'}'

# RFC 7515 A.3 (ES256) and RFC 8037 A.4 (EdDSA) verbatim
seed rfc7515-a3 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q'
seed rfc8037-a4 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg'

# unsigned and MAC algorithms, malformed shapes
seed alg-none "$(printf '{"alg":"none"}' | b64url).$(printf '{}' | b64url)."
seed alg-hs256 "$(printf '{"alg":"HS256"}' | b64url).$(printf '{}' | b64url).AAAA"
seed five-parts 'a.b.c.d.e'
seed padded 'eyJhbGciOiJFZERTQSJ9.e30=.AAAA'

# JWKs
seed jwk-ed25519 '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}'
seed jwk-p256 '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"sig","alg":"ES256"}'
seed jwk-rsa '{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","kid":"2011-04-29"}'
seed jwk-private '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"AAAA"}'
seed jwk-off-curve '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"}'
