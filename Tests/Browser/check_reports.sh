#!/usr/bin/env bash
# rnn explain's HTML reports in a real browser: trains a tiny character model on
# data/tinyshakespeare.txt, writes a report of 2000 steps, and opens it in headless Chromium
# (Debian's package `chromium`); then fits a tiny classifier (rnn data roommate's weeks, the start
# dish as the label) and tagger (the weeks themselves), and a seq2seq model with attention on rnn
# data addition, and rnn roommate --explain's page, and checks them the same way. Fails when a page
# logs anything to the console (an uncaught
# exception included), when a section is missing from the rendered DOM, when the script did not
# finish (it sets data-ready on <body> last) or did not draw the heat maps, or when the page would
# fetch something. Writes a screenshot (1280×2400, the whole page) for a person to look at and
# prints its path (one per report).
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
# Checks the report $1 (self-contained, no console message, sections $2… in the rendered DOM,
# data-ready set); the DOM is left in $work/dom.html.
check_page() {
    report=$1
    shift
    if grep -Eqi '<link|<img|<iframe| src=|url\(|https?://' "$report"; then
        fail "$report refers to something outside itself: $(grep -Eoi '<link[^>]*|<img[^>]*|<iframe[^>]*| src=[^ >]*|url\([^)]*\)|https?://[^ "<]*' "$report" | head -n 1)"
    fi
    # The rendered DOM, with the console on stderr: any console message fails the check.
    browse --enable-logging=stderr --v=0 --dump-dom >"$work/dom.html" 2>"$work/console.log" ||
        fail "chromium --dump-dom exited $? on $report ($(grep -v -i dbus "$work/console.log" | tail -n 1))"
    if grep -q ':CONSOLE' "$work/console.log"; then
        fail "console ($report): $(grep ':CONSOLE' "$work/console.log" | head -n 1 | sed -E 's/^\[[^]]*\] *//')"
    fi
    for id in "$@"; do
        grep -q "<section id=\"$id\"" "$work/dom.html" || fail "no <section id=\"$id\"> in the rendered $report"
    done
    grep -Eq '<body[^>]* data-ready="1"' "$work/dom.html" || fail "the script of $report did not finish (no data-ready on <body>)"
}

browse() { timeout 120 "$chromium" --headless --disable-gpu --no-sandbox --hide-scrollbars "$@" "file://$report"; }

# Writes the screenshot $1 of the page $report, $2 pixels tall.
screenshot() {
    browse --window-size=1280,"$2" --screenshot="$1" >"$work/shot.log" 2>&1 ||
        fail "chromium --screenshot exited $? ($(grep -v -i dbus "$work/shot.log" | tail -n 1))"
    [ -s "$1" ] || fail "no screenshot written to $1"
}

check_page "$report" surprisal units saturation states
drawn=$(grep -o '<canvas[^>]*data-drawn="1"' "$work/dom.html" | wc -l)
[ "$drawn" -eq 2 ] || fail "$drawn heat maps drawn, expected 2 (one per layer)"
chars=$(grep -o '<span[^>]*data-i=' "$work/dom.html" | wc -l)
[ "$chars" -eq 4002 ] || fail "$chars coloured characters, expected 4002 (2001 in each of two views)"
grep -q '<circle' "$work/dom.html" || fail "no dots in the saturation scatters"
grep -q '<button type="button"' "$work/dom.html" || fail "no ranked units to click"

shot="$shots/explain-report.png"
screenshot "$shot" 2400
echo "browser check: rnn explain's report passed in $("$chromium" --version 2>/dev/null | head -n 1); screenshot: $shot"

# Task models on roommate weeks: a classifier that must remember the week's first token (the
# start dish) to its end, and a tagger (a dish per day).
"$rnn" data roommate --count 300 --seed 1 >"$work/weeks.jsonl" || fail "rnn data roommate"
sed -E 's/"input": "([a-z]+)([^"]*)", "target": \[[^]]*\]\}$/"input": "\1\2", "target": "\1"}/' "$work/weeks.jsonl" >"$work/dish.jsonl"
grep -q '"target": "' "$work/dish.jsonl" || fail "could not make the classify data from rnn data roommate's"
for task in classify tag; do
    data="$work/weeks.jsonl" section=tags
    [ "$task" = classify ] && data="$work/dish.jsonl" section=formation
    "$rnn" fit --task "$task" --tokens word --data "$data" --hidden 16 --epochs 20 --lr 0.01 --seed 1 --out "$work/$task" \
        >"$work/$task.log" 2>&1 || fail "rnn fit --task $task: $(tail -n 1 "$work/$task.log")"
    report="$work/$task.html"
    "$rnn" explain --checkpoint "$work/$task/best.safetensors" --data "$data" --max-examples 8 --out "$report" \
        2>"$work/explain.log" || fail "rnn explain ($task): $(tail -n 1 "$work/explain.log")"
    check_page "$report" examples "$section"
    rows=$(grep -o '<tr><td>' "$work/dom.html" | wc -l)
    [ "$rows" -eq 8 ] || fail "$task: $rows example rows, expected 8"
    if [ "$task" = classify ]; then
        charts=$(grep -o '<polyline' "$work/dom.html" | wc -l)
        [ "$charts" -eq 8 ] || fail "classify: $charts formation lines, expected 8"
    else
        grep -q 'class="tag' "$work/dom.html" || fail "tag: no tagged steps"
    fi
    shot="$shots/explain-$task.png"
    screenshot "$shot" 1600
    echo "browser check: rnn explain's $task report passed; screenshot: $shot"
done

# seq2seq with attention on rnn data addition (a few epochs: enough for outputs that are not empty).
"$rnn" data addition --count 300 --seed 1 >"$work/addition.jsonl" || fail "rnn data addition"
"$rnn" fit --task seq2seq --data "$work/addition.jsonl" --epochs 8 --lr 0.01 --hidden 32 --attention general --seed 1 \
    --out "$work/seq2seq" >"$work/seq2seq.log" 2>&1 || fail "rnn fit --task seq2seq: $(tail -n 1 "$work/seq2seq.log")"
report="$work/seq2seq.html"
"$rnn" explain --checkpoint "$work/seq2seq/best.safetensors" --data "$work/addition.jsonl" --max-examples 6 --out "$report" \
    2>"$work/explain.log" || fail "rnn explain (seq2seq): $(tail -n 1 "$work/explain.log")"
check_page "$report" examples outputs attention
maps=$(grep -o '<table class="heat">' "$work/dom.html" | wc -l)
[ "$maps" -eq 6 ] || fail "seq2seq: $maps attention maps, expected 6"
shot="$shots/explain-seq2seq.png"
screenshot "$shot" 1600
echo "browser check: rnn explain's seq2seq report passed; screenshot: $shot"

# rnn roommate --explain: the hand-wired and a trained roommate side by side, plus the week's rows
# and the training curve.
report="$work/roommate.html"
"$rnn" roommate --explain "$report" --start pasta --weather sunny,rainy,rainy,sunny,rainy,sunny,rainy --seed 1 \
    >"$work/roommate.log" 2>&1 || fail "rnn roommate --explain: $(tail -n 1 "$work/roommate.log")"
check_page "$report" week matrices training
rows=$(grep -o '<tr>' "$work/dom.html" | wc -l)
# 2 header rows + 7 days in the week; the matrices' rows come on top.
[ "$rows" -ge 9 ] || fail "$rows table rows in the roommate page, expected the 7 days and more"
grep -q '<polyline class="loss"' "$work/dom.html" || fail "no training curve in the roommate page"
shot="$shots/roommate-report.png"
screenshot "$shot" 1700
echo "browser check: rnn roommate --explain's report passed; screenshot: $shot"
