#!/bin/sh
# Regenerate the seed corpus of fuzz_policy_json: stored provisioner policies
# (README "Provisioners and credentials"), valid ones and near misses.
set -eu

out=$(cd "$(dirname "$0")" && pwd)/corpus/policy_json
mkdir -p "$out"
seed() { printf '%s' "$2" > "$out/$1"; }

seed full '{"version":1,"allow_all_names":false,"dns":["*.example.com"],"ips":["10.0.0.0/8"],"emails":["@example.com"],"uris":["spiffe://example.org/"],"allow_subject_attributes":false,"default_days":7,"max_days":30,"key_types":["ec-p256","rsa-2048"],"min_rsa_bits":0,"ekus":["server","client"]}'
seed cli-apikey '{"version":1,"dns":[".example.test"],"max_days":30}'
seed any-name '{"version":1,"allow_all_names":true}'
seed ipv6 '{"version":1,"ips":["2001:db8::/32","192.0.2.1"]}'
seed rsa-floor '{"version":1,"allow_all_names":true,"key_types":["rsa-3072"],"min_rsa_bits":4096}'
seed no-version '{"dns":["a.example"]}'
seed unknown-member '{"version":1,"colour":"red"}'
seed duplicate '{"version":1,"version":1}'
seed wrong-types '{"version":1,"dns":"a.example","max_days":"30","ekus":[1]}'
seed days-order '{"version":1,"allow_all_names":true,"default_days":40,"max_days":30}'
seed not-object '[{"version":1}]'
seed nested '{"version":1,"dns":[["a"]],"uris":[{"a":1}]}'
