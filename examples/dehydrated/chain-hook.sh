#!/bin/sh
# dehydrated HOOK that runs an existing hook (e.g. your DNS-01 challenge hook) and then danehook's.
# Set HOOK=/etc/dehydrated/chain-hook.sh and adjust the two paths below.
set -e
/etc/dehydrated/my-dns-hook.sh "$@"
exec /opt/danehook/hooks/dehydrated "$@"
