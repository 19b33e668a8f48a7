#!/bin/bash
# Bring your own root, signed with tools/sign_intermediate.py
# (python-cryptography), then `subca intermediate import`.
# Roots made by python, one authority per root key type, then one with
# name constraints. See tools/byor.sh.
. "$SUBCA_TEST_LIB"
. "$TOOLS/byor.sh"
byor_suite python python 3
finish
