#!/bin/sh
# Regenerate the seed corpus of fuzz_framing: raw request bytes as a client
# sends them (see tests/fuzz/fuzz_framing.c; the first byte also picks where
# the input is split).
set -eu

out=$(cd "$(dirname "$0")" && pwd)/corpus/framing
mkdir -p "$out"
seed() { printf '%b' "$2" > "$out/$1"; }

seed get              'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'
seed pipelined        'GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n'
seed chunked          'PUT /y HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'
seed chunked-over-cap 'POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n'
seed length-over-cap  'POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n'
seed huge-length      'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999\r\n\r\n'
seed bare-lf          'POST /a HTTP/1.1\nHost: h\nContent-Length: 2\n\nok'
seed http10           'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\nrest'
seed te-and-cl        'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
seed obs-fold         'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n'
seed chunk-ext        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\n\r\n'
seed absolute-form    'GET https://a:8443/small?q HTTP/1.1\r\nHost: a\r\n\r\n'
seed head-with-body   'HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx'
seed trace            'TRACE / HTTP/1.1\r\nHost: a\r\n\r\n'
