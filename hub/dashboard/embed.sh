#!/bin/sh
# embed.sh NAME FILE — prints a C source defining NAME[] (FILE's bytes,
# followed by a NUL that NAME_len does not count) and NAME_len. Used by the
# Makefile to put the dashboard page into atoll-hub; needs only od and sed.
set -e
name=$1
file=$2
echo "/* Generated from $file by hub/dashboard/embed.sh; do not edit. */"
echo "const unsigned char ${name}[] = {"
od -An -v -tx1 "$file" | sed -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^ *//'
echo "0x00};"
echo "const unsigned int ${name}_len = $(wc -c < "$file");"
