#!/bin/sh
# Renders every prompt of <lang>/prompts.txt (name|text per line) into <lang>/<name>.flac:
# flite's slt voice, then sox to 16 kHz mono 16-bit FLAC (kefu's internal format; symphonia
# decodes it). Speech is 10% brisker than flite's default, as IVR prompts usually are, and
# leading and trailing silence is trimmed so prompts chain without gaps.
#
#   voices/prompts/generate.sh [lang]      (default: en; needs flite and sox)
set -eu

lang=${1:-en}
dir=$(cd "$(dirname "$0")" && pwd)/$lang
list=$dir/prompts.txt
[ -f "$list" ] || { echo "no $list" >&2; exit 1; }
command -v flite >/dev/null || { echo "flite is not installed" >&2; exit 1; }
command -v sox >/dev/null || { echo "sox is not installed" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count=0
while IFS='|' read -r name text; do
    case $name in ''|'#'*) continue ;; esac
    case $name in *[!a-z0-9_-]*) echo "bad prompt name: $name" >&2; exit 1 ;; esac
    [ -n "$text" ] || { echo "prompt $name has no text" >&2; exit 1; }
    flite -voice slt --setf duration_stretch=0.9 -t "$text" -o "$tmp/$name.wav"
    # silence: drop leading quiet, then (reversed) trailing quiet; keep 100 ms at the end.
    # gain -n -6: every prompt peaks at -6 dBFS, the same level, with headroom for codecs.
    # -R: fixed dither seed, so the same text always gives the same file.
    sox -R "$tmp/$name.wav" -r 16000 -c 1 -b 16 -C 8 "$dir/$name.flac" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.1 gain -n -6
    count=$((count + 1))
done < "$list"

echo "$count prompts in $dir ($(du -ch "$dir"/*.flac | tail -n 1 | cut -f 1))"
