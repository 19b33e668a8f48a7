# Bring-your-own-root end to end, shared by tests/integration/test_byor_*.sh.
# Source lib.sh first, then: byor_suite SIGNER ROOT_TOOL
#
# SIGNER: a tool whose `subca intermediate instructions --tool` script is run
# verbatim (openssl, openssl-ca, certtool, cfssl, subca), or "python"
# (tools/sign_intermediate.py, then `subca intermediate import`).
# ROOT_TOOL: who makes the roots (see gen_root).

BYOR_ROOT_KINDS=(rsa-2048 rsa-4096 ec-p256 ec-p384 ed25519)
BYOR_INT_KINDS=(ec-p256 ec-p384 rsa-2048 rsa-3072 ed25519)

# byor_sign SIGNER NAME DIR [PATHLEN]: sign DIR/NAME.csr with DIR/root.*,
# leaving DIR/NAME.crt, and import it. For the instruction-script signers the
# import is the script's own last line.
byor_sign() {
	local signer=$1 name=$2 d=$3 rc=0
	# Explicit statuses: this also runs under expect_fail, where errexit
	# is off, and must then return the import's own exit status.
	if [ "$signer" = python ]; then
		(cd "$d" && "$PY" "$TOOLS/sign_intermediate.py" --root-cert root.crt \
			--root-key root.key --csr "$name.csr" --path-len "${4:-0}" \
			--days 365 --out "$name.crt") || return 1
		sc intermediate import "$name" "$d/$name.crt"
		return
	fi
	sc intermediate instructions "$name" --tool "$signer" >"$d/sign.sh" || return 1
	tail -n 1 "$d/sign.sh" | grep -q "subca intermediate import $name" ||
		{ log "last line of the script is not the import:"; tail -n 1 "$d/sign.sh" >&2; return 1; }
	(cd "$d" && sh sign.sh) || rc=$?
	[ -s "$d/$name.crt" ] || { log "the script wrote no $name.crt"; return 1; }
	return "$rc"
}

# byor_issue_and_verify NAME DIR HOST: issue a leaf for HOST, verify the chain
# file (leaf then intermediate) against the root with openssl, certtool and a
# TLS handshake.
byor_issue_and_verify() {
	local name=$1 d=$2 host=$3
	rm -f "$d/leaf.key" "$d/chain.pem"
	sc issue "$name" --cn "$host" --san "DNS:$host" \
		--out-key "$d/leaf.key" --out-cert "$d/chain.pem"
	[ "$(pem_count "$d/chain.pem")" = 2 ] || { log "chain file does not hold 2 certificates"; return 1; }
	split_chain "$d/chain.pem" "$d/leaf.pem" "$d/int.pem"
	cmp -s <(openssl x509 -in "$d/int.pem" -outform DER) \
		<(openssl x509 -in "$d/$name.crt" -outform DER) ||
		{ log "the chain's intermediate is not the imported one"; return 1; }
	verify_chain "$d/root.crt" "$d/int.pem" "$d/leaf.pem" "$d/leaf.key" "$host"
}

byor_one() {
	local signer=$1 rtool=$2 rk=$3 ik=$4
	local name="r-$rk" d="$T/w/r-$rk"
	step "$rk root made by $rtool" gen_root "$rtool" "$rk" "$d"
	step "$name: authority create" sc authority create "$name"
	step "$name: root import" sc root import "$name" "$d/root.crt"
	step "$name: intermediate request --key $ik --path-len 0" \
		sc intermediate request "$name" --cn "subca $name intermediate" \
		--country DE --state Berlin --locality Berlin --org "subca tests" \
		--ou PKI --key "$ik" --path-len 0 --out "$d/$name.csr"
	step "$name: $signer signs the $ik intermediate, import accepts it" \
		byor_sign "$signer" "$name" "$d"
	step "$name: signed intermediate is CA:TRUE pathlen:0 with keyCertSign, full subject" \
		byor_check_ca "$d/$name.crt"
	step "$name: authority is active" authority_is "$name" active
	step "$name: issued leaf verifies (openssl, certtool, TLS)" \
		byor_issue_and_verify "$name" "$d" host.example
}

byor_check_ca() {
	local a
	cert_text "$1" >"$T/ca.txt"
	has "$T/ca.txt" "CA:TRUE, pathlen:0"
	has "$T/ca.txt" "Certificate Sign"
	# Every subject attribute survives (openssl ca drops those its policy
	# does not name unless told; CFSSL re-encodes but keeps these).
	openssl x509 -in "$1" -noout -subject -nameopt sep_multiline >"$T/subj.txt"
	for a in "C=DE" "ST=Berlin" "L=Berlin" "O=subca tests" "OU=PKI" "CN=subca "; do
		has "$T/subj.txt" "$a"
	done
}

# One authority whose intermediate asks for permitted DNS example.com.
byor_name_constraints() {
	local signer=$1 rtool=$2 name=nc d="$T/w/nc"
	step "nc: ec-p256 root made by $rtool" gen_root "$rtool" ec-p256 "$d"
	step "nc: authority create + root import" \
		eval 'sc authority create nc && sc root import nc "$d/root.crt"'
	step "nc: intermediate request --permit-dns example.com" \
		sc intermediate request nc --cn "subca nc intermediate" --key ec-p256 \
		--path-len 0 --permit-dns example.com --out "$d/nc.csr"
	if [ "$signer" = cfssl ]; then
		# CFSSL cannot write name constraints: the script's import must
		# refuse the weaker certificate, --accept-weaker must take it.
		step "nc: cfssl script's import refused WEAKER_THAN_REQUESTED (exit 4)" \
			expect_fail WEAKER_THAN_REQUESTED 4 -- byor_sign cfssl nc "$d"
		step "nc: cfssl certificate has no name constraints" \
			eval 'cert_text "$d/nc.crt" >"$T/nc.txt" && lacks "$T/nc.txt" "Name Constraints"'
		step "nc: import --accept-weaker accepts it" \
			sc intermediate import nc "$d/nc.crt" --accept-weaker
		step "nc: authority is active" authority_is nc active
		step "nc: leaf verifies" byor_issue_and_verify nc "$d" host.example.com
		return 0
	fi
	step "nc: $signer signs with name constraints, import accepts" byor_sign "$signer" nc "$d"
	step "nc: signed intermediate carries permitted DNS:example.com (critical)" \
		eval 'cert_text "$d/nc.crt" >"$T/nc.txt" &&
			has "$T/nc.txt" "X509v3 Name Constraints: critical" &&
			has "$T/nc.txt" "DNS:example.com"'
	step "nc: authority is active" authority_is nc active
	step "nc: leaf inside example.com verifies" byor_issue_and_verify nc "$d" host.example.com
	step "nc: issue outside example.com refused NAME_CONSTRAINTS (exit 4)" \
		expect_fail NAME_CONSTRAINTS 4 -- sc issue nc --cn host.other.test \
		--san DNS:host.other.test --out-key "$d/bad.key" --out-cert "$d/bad.pem"
	step "nc: no certificate written for the refused name" \
		test ! -s "$d/bad.pem"
}

# byor_suite SIGNER ROOT_TOOL [OFFSET]: every root key type (ed25519 skipped
# for cfssl, which cannot handle it) with the intermediate key types cycled
# so that every type is covered, then the name-constraints authority.
byor_suite() {
	local signer=$1 rtool=$2 off=${3:-0} i rk ik ints
	step "subca init" sc init
	ints=("${BYOR_INT_KINDS[@]}")
	[ "$signer" != cfssl ] || ints=(ec-p256 ec-p384 rsa-2048 rsa-3072)
	for i in "${!BYOR_ROOT_KINDS[@]}"; do
		rk=${BYOR_ROOT_KINDS[$i]}
		if [ "$signer" = cfssl ] && [ "$rk" = ed25519 ]; then
			echo "# skip: CFSSL cannot handle Ed25519 roots, keys or CSRs"
			continue
		fi
		ik=${ints[$(((i + off) % ${#ints[@]}))]}
		byor_one "$signer" "$rtool" "$rk" "$ik"
	done
	byor_name_constraints "$signer" "$rtool"
}
