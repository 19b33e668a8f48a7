#!/bin/bash
# Bring your own root, signed with GnuTLS certtool using the template
# from subca's instructions.
# Roots made by certtool, one authority per root key type, then one with
# name constraints. See tools/byor.sh.
. "$SUBCA_TEST_LIB"
. "$TOOLS/byor.sh"
byor_suite certtool certtool 2
finish
