# Shared helpers for the integration tests: source it, then call `finish`.
#
#   . "$SUBCA_TEST_LIB"
#   step "root import accepts DER" sc root import a root.der
#   step "refuses a CSR" expect_fail CSR_NOT_CERT 2 -- sc root import a x.csr
#   finish
#
# Environment: SUBCA (the built binary), SUBCA_TEST_LIB (this file).
# Each test gets a private temporary directory $T, removed on exit together
# with any TLS server it started; SUBCA_DATA points inside it.

set -euo pipefail

: "${SUBCA:?SUBCA must name the built subca binary}"
SUBCA=$(readlink -f "$SUBCA")
SUBCA_TEST_LIB=${SUBCA_TEST_LIB:-$(readlink -f "${BASH_SOURCE[0]}")}
TOOLS=$(dirname "$SUBCA_TEST_LIB")/tools

# Always Debian's python with python3-cryptography, never a pyenv one.
PY=/usr/bin/python3
export PYTHONWARNINGS=ignore PYTHONDONTWRITEBYTECODE=1

T=$(mktemp -d "${TMPDIR:-/tmp}/subca-it.XXXXXX")
export SUBCA_DATA=$T/data
unset SUBCA_PASSPHRASE
mkdir -p "$T/bin"
ln -s "$SUBCA" "$T/bin/subca"
export PATH=$T/bin:$PATH
: >"$T/pids"
: >"$T/transcript"

N_PASS=0
N_FAIL=0
N_SEQ=0
FINISHED=0

subca__cleanup() {
	local rc=$? pid
	while read -r pid; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done <"$T/pids"
	# let them (and start_server's wrappers, which write LOG.rc) finish
	for _ in $(seq 1 50); do
		local alive=0
		while read -r pid; do
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1
		done <"$T/pids"
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	if [ "$FINISHED" = 0 ]; then
		N_SEQ=$((N_SEQ + 1))
		N_FAIL=$((N_FAIL + 1))
		echo "not ok $N_SEQ - test script aborted (status $rc)"
		echo "$N_PASS passed, $N_FAIL failed"
		rc=1
	fi
	rm -rf "$T" 2>/dev/null || { sleep 0.5; rm -rf "$T" 2>/dev/null || true; }
	exit "$rc"
}
trap subca__cleanup EXIT

log() { echo "# $*" >&2; }

ok() {
	N_SEQ=$((N_SEQ + 1))
	N_PASS=$((N_PASS + 1))
	echo "ok $N_SEQ - $*"
}

fail() {
	N_SEQ=$((N_SEQ + 1))
	N_FAIL=$((N_FAIL + 1))
	echo "not ok $N_SEQ - $*"
}

finish() {
	FINISHED=1
	echo "$N_PASS passed, $N_FAIL failed"
	[ "$N_FAIL" = 0 ] || exit 1
	exit 0
}

# step DESC CMD...: run CMD in a subshell with errexit in force (so that a
# shell function fails at its first failing command), output kept in
# $T/step.out and $T/step.err; prints ok / not ok with the tail of stderr.
step() {
	local desc=$1 rc=0
	shift
	set +e
	(set -e; "$@") >"$T/step.out" 2>"$T/step.err"
	rc=$?
	set -e
	if [ "$rc" = 0 ]; then
		ok "$desc"
		return 0
	fi
	fail "$desc"
	log "command: $* (exit $rc)"
	tail -n 15 "$T/step.out" | sed 's/^/#   out: /' >&2
	tail -n 15 "$T/step.err" | sed 's/^/#   err: /' >&2
	return 0
}

# The subca binary, with everything it prints also appended to
# $T/transcript (test_lifecycle checks that no private key ever shows up).
sc() {
	local rc=0 o e
	o=$(mktemp "$T/sc.out.XXXXXX")
	e=$(mktemp "$T/sc.err.XXXXXX")
	"$SUBCA" "$@" >"$o" 2>"$e" || rc=$?
	cat "$o"
	cat "$e" >&2
	{ echo "\$ subca $*"; cat "$o" "$e"; } >>"$T/transcript"
	rm -f "$o" "$e"
	return "$rc"
}

# expect_fail CODE STATUS [SUBSTRING...] -- CMD...
# CMD must exit with STATUS and print "error [CODE]" (and every SUBSTRING)
# on stderr; CODE "*" takes any code. Output stays in $T/xf.out, $T/xf.err.
expect_fail() {
	local code=$1 want=$2 rc=0 s
	shift 2
	local subs=()
	while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
		subs+=("$1")
		shift
	done
	[ "${1:-}" = "--" ] || { log "expect_fail: missing --"; return 2; }
	shift
	"$@" >"$T/xf.out" 2>"$T/xf.err" || rc=$?
	if [ "$rc" != "$want" ]; then
		log "expected exit $want, got $rc from: $*"
		sed 's/^/#   err: /' "$T/xf.err" | head -n 10 >&2
		return 1
	fi
	local pat="error [$code]"
	[ "$code" != "*" ] || pat="error ["
	if ! grep -qF -- "$pat" "$T/xf.err"; then
		log "stderr lacks 'error [$code]' from: $*"
		sed 's/^/#   err: /' "$T/xf.err" | head -n 10 >&2
		return 1
	fi
	for s in "${subs[@]+"${subs[@]}"}"; do
		if ! grep -qiF -- "$s" "$T/xf.err"; then
			log "stderr lacks '$s' from: $*"
			sed 's/^/#   err: /' "$T/xf.err" | head -n 10 >&2
			return 1
		fi
	done
	return 0
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() { grep -qF -- "$2" "$1" || { log "'$2' not in $1"; return 1; }; }
lacks() { ! grep -qF -- "$2" "$1" || { log "'$2' unexpectedly in $1"; return 1; }; }

# free_port: a port of 127.0.0.1 free for TCP and UDP, drawn at random below
# the kernel's ephemeral range (so that no outgoing connection of a test
# running alongside takes it before the server binds it), never one this
# test already handed out.
free_port() {
	"$PY" - "$T/ports" <<'PY'
import random, socket, sys
lo, _ = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
lo = min(lo, 32768)
try:
    used = set(open(sys.argv[1]).read().split())
except OSError:
    used = set()
for _ in range(1000):
    port = random.randrange(10000, lo)
    if str(port) in used:
        continue
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", port))
            s.close()
    except OSError:
        continue
    with open(sys.argv[1], "a") as f:
        f.write("%d\n" % port)
    print(port)
    sys.exit(0)
sys.exit("no free port")
PY
}

# ---------------------------------------------------------------- roots

# openssl_genkey TYPE OUT: a PEM (PKCS#8) private key of a subca key type.
openssl_genkey() {
	case $1 in
	rsa-*) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${1#rsa-}" -out "$2" ;;
	ec-p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
	ec-p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$2" ;;
	ed25519) openssl genpkey -algorithm ED25519 -out "$2" ;;
	*) log "unknown key type $1"; return 1 ;;
	esac 2>/dev/null
}

# openssl_ca_cnf FILE CN [PATHLEN]: an `openssl req` config for a root CA.
openssl_ca_cnf() {
	local bc="critical, CA:TRUE"
	[ -z "${3:-}" ] || bc="$bc, pathlen:$3"
	cat >"$1" <<EOF
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_root
[dn]
O = subca tests
CN = $2
[v3_root]
basicConstraints = $bc
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
EOF
}

# gen_root TOOL KEYTYPE DIR [CN]: DIR/root.crt and DIR/root.key (PEM),
# made the way TOOL (openssl, certtool, cfssl, python) makes a root CA.
gen_root() {
	local tool=$1 kt=$2 d=$3 cn=${4:-"Test Root $2"}
	mkdir -p "$d"
	case $tool in
	openssl)
		local md=(-sha256)
		[ "$kt" != ed25519 ] || md=()
		openssl_genkey "$kt" "$d/root.key"
		openssl_ca_cnf "$d/root.cnf" "$cn"
		openssl req -x509 -new -config "$d/root.cnf" -key "$d/root.key" \
			"${md[@]}" -days 3650 -out "$d/root.crt"
		;;
	certtool)
		local kargs
		case $kt in
		rsa-*) kargs=(--key-type rsa --bits "${kt#rsa-}") ;;
		ec-p256) kargs=(--key-type ecdsa --curve secp256r1) ;;
		ec-p384) kargs=(--key-type ecdsa --curve secp384r1) ;;
		ed25519) kargs=(--key-type ed25519) ;;
		esac
		certtool --generate-privkey "${kargs[@]}" --no-text \
			--outfile "$d/root.key" 2>/dev/null
		cat >"$d/root.tmpl" <<EOF
organization = "subca tests"
cn = "$cn"
expiration_days = 3650
ca
cert_signing_key
crl_signing_key
signing_key
EOF
		certtool --generate-self-signed --load-privkey "$d/root.key" \
			--template "$d/root.tmpl" --no-text \
			--outfile "$d/root.crt" 2>/dev/null
		;;
	cfssl)
		local algo size
		case $kt in
		rsa-*) algo=rsa size=${kt#rsa-} ;;
		ec-p256) algo=ecdsa size=256 ;;
		ec-p384) algo=ecdsa size=384 ;;
		*) log "cfssl cannot make a $kt root"; return 1 ;;
		esac
		cat >"$d/root-csr.json" <<EOF
{"CN": "$cn", "key": {"algo": "$algo", "size": $size},
 "names": [{"O": "subca tests"}], "ca": {"expiry": "87600h"}}
EOF
		(cd "$d" && cfssl gencert -initca root-csr.json 2>/dev/null |
			cfssljson -bare root)
		mv "$d/root.pem" "$d/root.crt"
		mv "$d/root-key.pem" "$d/root.key"
		;;
	python)
		"$PY" "$TOOLS/make_cert.py" --key "$kt" --cn "$cn" --org "subca tests" \
			--out-cert "$d/root.crt" --out-key "$d/root.key"
		;;
	*) log "unknown root tool $tool"; return 1 ;;
	esac
	[ -s "$d/root.crt" ] && [ -s "$d/root.key" ]
}

# ---------------------------------------------------------------- chains

# split_chain CHAIN LEAF INT: first PEM certificate to LEAF, the rest to INT.
split_chain() {
	awk -v leaf="$2" -v rest="$3" '
		/-----BEGIN CERTIFICATE-----/ { n++ }
		n == 1 { print > leaf; next }
		n > 1 { print > rest }' "$1"
	[ -s "$2" ] && [ -s "$3" ]
}

pem_count() { grep -c -- "-----BEGIN CERTIFICATE-----" "$1" || true; }

# tls_handshake ROOT INT LEAF LEAFKEY NAME: openssl s_server serves
# LEAF+INT on 127.0.0.1; s_client trusting only ROOT must verify it for NAME.
tls_handshake() {
	local root=$1 int=$2 leaf=$3 key=$4 name=$5 port pid i rc=1
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -cert "$leaf" -key "$key" \
		-cert_chain "$int" -www </dev/null >"$T/s_server.log" 2>&1 &
	pid=$!
	echo "$pid" >>"$T/pids"
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			rc=0
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$rc" != 0 ]; then
		log "s_server did not start:"
		sed 's/^/#   /' "$T/s_server.log" >&2
		kill "$pid" 2>/dev/null || true
		return 1
	fi
	openssl s_client -connect "127.0.0.1:$port" -CAfile "$root" \
		-verify_return_error -verify_hostname "$name" -servername "$name" \
		</dev/null >"$T/s_client.log" 2>&1 || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ "$rc" != 0 ] || ! grep -q "Verify return code: 0 (ok)" "$T/s_client.log"; then
		log "TLS handshake failed (s_client exit $rc):"
		grep -iE "verify|error|alert" "$T/s_client.log" | head -n 10 | sed 's/^/#   /' >&2
		return 1
	fi
}

# verify_chain ROOT INT LEAF [LEAFKEY NAME]: openssl strict verification,
# GnuTLS chain verification and, given the leaf key, a real TLS handshake.
verify_chain() {
	local root=$1 int=$2 leaf=$3 key=${4:-} name=${5:-}
	if ! openssl verify -x509_strict -CAfile "$root" -untrusted "$int" "$leaf" \
		>"$T/verify.log" 2>&1; then
		log "openssl verify failed:"
		sed 's/^/#   /' "$T/verify.log" >&2
		return 1
	fi
	cat "$leaf" "$int" "$root" >"$T/bundle.pem"
	if ! certtool --verify-chain --infile "$T/bundle.pem" >"$T/certtool.log" 2>&1 ||
		! grep -q "Chain verification output: Verified" "$T/certtool.log"; then
		log "certtool --verify-chain failed:"
		grep -i "verif" "$T/certtool.log" | head -n 10 | sed 's/^/#   /' >&2
		return 1
	fi
	[ -z "$key" ] || tls_handshake "$root" "$int" "$leaf" "$key" "$name"
}

# Text dump of a certificate's extensions, for has/lacks checks.
cert_text() { openssl x509 -in "$1" -noout -text; }

# authority_is NAME STATE: `subca authority show NAME --json` has a "state"
# member equal to STATE (anywhere in the object), and the text form names it.
authority_is() {
	sc authority show "$1" --json >"$T/show.json" 2>"$T/show.err" ||
		{ sed 's/^/#   /' "$T/show.err" >&2; return 1; }
	if ! "$PY" - "$T/show.json" "$2" <<'EOF'
import json, sys
def states(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "state":
                yield v
            yield from states(v)
    elif isinstance(o, list):
        for v in o:
            yield from states(v)
try:
    doc = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit("authority show --json is not JSON: %s" % e)
# The authority's own state wins over any nested (intermediate) state.
found = [doc["state"]] if isinstance(doc, dict) and "state" in doc else list(states(doc))
sys.exit(0 if sys.argv[2] in found else "state %r, want %r" % (found, sys.argv[2]))
EOF
	then
		sed 's/^/#   /' "$T/show.json" >&2
		return 1
	fi
	sc authority show "$1" >"$T/show.out" 2>&1
	grep -qw -- "$2" "$T/show.out" || { log "text show lacks $2"; return 1; }
}

# start_server LOG ARGS...: start `subca serve` in the background and wait
# for its "listening on" line. Its pid goes to LOG.pid (and $T/pids), its
# exit status to LOG.rc once it exits (steps run in subshells, so the test
# cannot `wait` for it itself).
start_server() {
	local log=$1 i
	shift
	rm -f "$log.pid" "$log.rc"
	("$SUBCA" serve "$@" 2>"$log" &
	 echo $! >"$log.pid"
	 wait $!
	 echo $? >"$log.rc") &
	for i in $(seq 1 50); do [ -s "$log.pid" ] && break; sleep 0.1; done
	cat "$log.pid" >>"$T/pids"
	for i in $(seq 1 100); do
		grep -q "subca: listening on https://" "$log" && return 0
		[ ! -e "$log.rc" ] || break
		sleep 0.1
	done
	sed 's/^/#   /' "$log" >&2
	return 1
}

# stop_server LOG: SIGTERM to the server start_server LOG started; waits
# up to 10 s for it to end and succeeds only if it exited 0.
stop_server() {
	local log=$1

	kill -TERM "$(cat "$log.pid")"
	for _ in $(seq 1 100); do [ -e "$log.rc" ] && break; sleep 0.1; done
	[ "$(cat "$log.rc" 2>/dev/null)" = 0 ]
}
