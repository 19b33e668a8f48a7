#!/bin/bash
# Bring your own root, signed with subca's own offline signer
# (`subca sign-intermediate`) from subca's instructions.
# Roots made by openssl, one authority per root key type, then one with
# name constraints. See tools/byor.sh.
. "$SUBCA_TEST_LIB"
. "$TOOLS/byor.sh"
byor_suite subca openssl 4
finish
