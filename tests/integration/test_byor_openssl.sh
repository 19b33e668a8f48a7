#!/bin/bash
# Bring your own root, signed with `openssl x509 -req` and the extfile
# from subca's instructions.
# Roots made by openssl, one authority per root key type, then one with
# name constraints. See tools/byor.sh.
. "$SUBCA_TEST_LIB"
. "$TOOLS/byor.sh"
byor_suite openssl openssl 0
finish
