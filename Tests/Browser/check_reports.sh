#!/usr/bin/env bash
# The HTML reports in a real browser. First, rnn explain's: trains a tiny character model on
# data/tinyshakespeare.txt, writes a report of 2000 steps, and opens it in headless Chromium
# (Debian's package `chromium`). Fails when the page logs anything to the console (an uncaught
# exception included), when a section is missing from the rendered DOM, when the script did not
# finish (it sets data-ready on <body> last) or did not draw the heat maps, or when the page would
# fetch something. Writes a screenshot (1280×2400, the whole page) for a person to look at and
# prints its path. Then rnn roommate --explain's page, the same way (its own block at the end).
#
# Usage: Tests/Browser/check_reports.sh [RNN]   RNN: the rnn binary (default .build/release/rnn);
# it builds nothing. CHROMIUM: the browser (default chromium). Screenshots go to
# $REPORT_SCREENSHOTS, else $OUT, else a new temporary folder.
set -uo pipefail
cd "$(dirname "$0")/../.."

rnn=${1:-.build/release/rnn}
chromium=${CHROMIUM:-chromium}
fail() { echo "browser check: FAILED: $*"; exit 1; }
[ -x "$rnn" ] || fail "no rnn binary at $rnn (build it first: swift build -c release)"
command -v "$chromium" >/dev/null || fail "no $chromium on PATH (Debian: apt-get install chromium)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shots=${REPORT_SCREENSHOTS:-${OUT:-$(mktemp -d)}}
mkdir -p "$shots" || fail "cannot create the screenshot folder $shots"

"$rnn" train --text data/tinyshakespeare.txt --hidden 32 --layers 2 --steps 60 --seed 1 --out "$work/run" \
    >"$work/train.log" 2>&1 || fail "rnn train: $(tail -n 1 "$work/train.log")"
# 4000 characters: more than --max-steps' 2000, so the page shows the bound and the cut.
head -c 4000 data/tinyshakespeare.txt >"$work/text.txt"
report="$work/report.html"
"$rnn" explain --checkpoint "$work/run/best.safetensors" --text "$work/text.txt" --out "$report" \
    2>"$work/explain.log" || fail "rnn explain: $(tail -n 1 "$work/explain.log")"

# Self-contained: nothing the browser would fetch (the page's own text has no URL).
if grep -Eqi '<link|<img|<iframe| src=|url\(|https?://' "$report"; then
    fail "the report refers to something outside itself: $(grep -Eoi '<link[^>]*|<img[^>]*|<iframe[^>]*| src=[^ >]*|url\([^)]*\)|https?://[^ "<]*' "$report" | head -n 1)"
fi

browse() { timeout 120 "$chromium" --headless --disable-gpu --no-sandbox --hide-scrollbars "$@" "file://$report"; }

# The rendered DOM, with the console on stderr: any console message fails the check.
browse --enable-logging=stderr --v=0 --dump-dom >"$work/dom.html" 2>"$work/console.log" ||
    fail "chromium --dump-dom exited $? ($(grep -v -i dbus "$work/console.log" | tail -n 1))"
if grep -q ':CONSOLE' "$work/console.log"; then
    fail "console: $(grep ':CONSOLE' "$work/console.log" | head -n 1 | sed -E 's/^\[[^]]*\] *//')"
fi
for id in surprisal units saturation states; do
    grep -q "<section id=\"$id\"" "$work/dom.html" || fail "no <section id=\"$id\"> in the rendered page"
done
grep -Eq '<body[^>]* data-ready="1"' "$work/dom.html" || fail "the page's script did not finish (no data-ready on <body>)"
drawn=$(grep -o '<canvas[^>]*data-drawn="1"' "$work/dom.html" | wc -l)
[ "$drawn" -eq 2 ] || fail "$drawn heat maps drawn, expected 2 (one per layer)"
chars=$(grep -o '<span[^>]*data-i=' "$work/dom.html" | wc -l)
[ "$chars" -eq 4002 ] || fail "$chars coloured characters, expected 4002 (2001 in each of two views)"
grep -q '<circle' "$work/dom.html" || fail "no dots in the saturation scatters"
grep -q '<button type="button"' "$work/dom.html" || fail "no ranked units to click"

shot="$shots/explain-report.png"
browse --window-size=1280,2400 --screenshot="$shot" >"$work/shot.log" 2>&1 ||
    fail "chromium --screenshot exited $? ($(grep -v -i dbus "$work/shot.log" | tail -n 1))"
[ -s "$shot" ] || fail "no screenshot written to $shot"
echo "browser check: rnn explain's report passed in $("$chromium" --version 2>/dev/null | head -n 1); screenshot: $shot"

# ---- rnn roommate --explain: the hand-wired and a trained roommate side by side ----------------
# Its own block: the same checks (self-contained, no console message, sections in the rendered
# DOM, data-ready) on the roommate page, plus the week's rows and the curve; a screenshot.
check_roommate() {
    report="$work/roommate.html"
    "$rnn" roommate --explain "$report" --start pasta --weather sunny,rainy,rainy,sunny,rainy,sunny,rainy --seed 1 \
        >"$work/roommate.log" 2>&1 || fail "rnn roommate --explain: $(tail -n 1 "$work/roommate.log")"
    if grep -Eqi '<link|<img|<iframe| src=|url\(|https?://' "$report"; then
        fail "the roommate report refers to something outside itself"
    fi
    browse --enable-logging=stderr --v=0 --dump-dom >"$work/roommate-dom.html" 2>"$work/roommate-console.log" ||
        fail "chromium --dump-dom on the roommate report exited $?"
    if grep -q ':CONSOLE' "$work/roommate-console.log"; then
        fail "roommate console: $(grep ':CONSOLE' "$work/roommate-console.log" | head -n 1 | sed -E 's/^\[[^]]*\] *//')"
    fi
    for id in week matrices training; do
        grep -q "<section id=\"$id\"" "$work/roommate-dom.html" || fail "no <section id=\"$id\"> in the roommate page"
    done
    grep -Eq '<body[^>]* data-ready="1"' "$work/roommate-dom.html" ||
        fail "the roommate page's script did not finish (no data-ready on <body>)"
    rows=$(grep -o '<tr>' "$work/roommate-dom.html" | wc -l)
    # 2 header rows + 7 days in the week; the matrices' rows come on top.
    [ "$rows" -ge 9 ] || fail "$rows table rows in the roommate page, expected the 7 days and more"
    grep -q '<polyline class="loss"' "$work/roommate-dom.html" || fail "no training curve in the roommate page"
    shot="$shots/roommate-report.png"
    browse --window-size=1280,1700 --screenshot="$shot" >"$work/roommate-shot.log" 2>&1 ||
        fail "chromium --screenshot on the roommate report exited $?"
    [ -s "$shot" ] || fail "no screenshot written to $shot"
    echo "browser check: rnn roommate --explain's report passed; screenshot: $shot"
}
check_roommate
