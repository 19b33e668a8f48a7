#!/bin/sh
# Regenerate the seed corpus of fuzz_route: METHOD \n HOST \n PATH [\n BODY]
# (see tests/fuzz/fuzz_route.c), one file per shape of request the router
# must tell apart.
set -eu

out=$(cd "$(dirname "$0")" && pwd)/corpus/route
mkdir -p "$out"
seed() { printf '%b' "$2" > "$out/$1"; }

seed healthz            'GET\nlocalhost:8443\n/healthz'
seed healthz-no-host    'GET'
seed by-path            'GET\n127.0.0.1\n/a/demo/chain'
seed by-host            'GET\nDM.example.test.:8443\n/chain'
seed by-host-deep       'GET\na.dm.example.test\n/chain'
seed unknown-authority  'GET\nlocalhost\n/a/nope/chain'
seed bad-label          'GET\nlocalhost\n/a/Bad_Name/chain'
seed empty-label        'GET\nlocalhost\n/a//chain'
seed method-405         'PUT\nlocalhost\n/things/42'
seed params             'DELETE\nlocalhost\n/things/42/x'
seed body-over-cap      'POST\nlocalhost\n/a/demo/sign\n0123456789abcdefX'
seed ipv6-host          'GET\n[::1]:8443\n/healthz'
seed ipv6-unclosed      'GET\n[::1\n/healthz'
seed control-bytes      'GET\nlocal\001host\n/heal\177thz'
seed relative-path      'GET\nlocalhost\nhealthz'
seed tls-authority      'GET\nlocalhost\n/a/tls/chain'
