#!/bin/bash
# Bring your own root, signed with CFSSL (ca_constraint profile from
# subca's instructions); CFSSL has no Ed25519 and no name constraints.
# Roots made by cfssl, one authority per root key type, then one with
# name constraints. See tools/byor.sh.
. "$SUBCA_TEST_LIB"
. "$TOOLS/byor.sh"
byor_suite cfssl cfssl 0
finish
