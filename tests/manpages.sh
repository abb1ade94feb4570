#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The man pages are written by hand; this keeps them honest against the programs themselves.
#   tests/manpages.sh MANDIR AUTOFACTORY_BINARY AGENT_BINARY
# For autofactory.1 (against autofactory --help and every sub-command's --help) and
# autofact-agent.1 (against autofact-agent --help) it fails when
#   - an option a --help lists under "Options:" is not in the page (as \-\-name);
#   - the page names an option (\-\-name) that no --help of that program mentions anywhere;
#     in an example (.EX) the command line's own program decides: autofactory's options in
#     an autofact-agent.1 example are checked against autofactory, those of other programs
#     (systemctl, jq) are not checked;
#   - autofactory.1's COMMANDS section (one .SS per command) and the "Sub-commands" list of
#     autofactory --help differ;
#   - the page writes a bare "-" where an option's hyphen-minus is meant (lintian's
#     hyphen-used-as-minus-sign), its NAME line is not "program \- text" (whatis), or
#     man --warnings (when man is installed) says anything about it.
# Qt's own options (--help, --help-all, --version) may be documented but are not required.
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 MANDIR AUTOFACTORY_BINARY AGENT_BINARY" >&2
  exit 2
fi
mandir=$1
server=$2
agent=$3

# Added by QCommandLineParser itself: allowed in a page, never required.
qt_generic=' help help-all version '

# --help needs no display, but Qt must not go looking for one.
export QT_QPA_PLATFORM=offscreen
export LC_ALL=C.UTF-8

status=0
fail() {
  echo "manpages: $*" >&2
  status=1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# save_help FILE LABEL BINARY [ARGS...]: "LABEL" and then the --help output into FILE; false
# (and a failure) when the program does not print it.
save_help() {
  local file=$1 label=$2 out
  shift 2
  if ! out=$("$@" --help 2>/dev/null) || [[ -z $out ]]; then
    fail "'$label --help' failed"
    return 1
  fi
  printf '%s\n%s\n' "$label" "$out" > "$file"
}

# Options a help text defines: the entries of its "Options:" list ("  -h, --help",
# "  --db <PATH>"), not the wrapped description lines under them.
defined_options() {
  awk '/^Options:$/ { on = 1; next }
       /^[^ ]/ { on = 0 }
       on && match($0, /^  (-[A-Za-z0-9], )?--[a-z0-9][a-z0-9-]*/) {
         s = substr($0, 1, RLENGTH); sub(/.*--/, "", s); print s
       }'
}

# Every --name a help text mentions anywhere (descriptions name other options too).
mentioned_options() {
  { grep -oE -- '--[a-z0-9][a-z0-9-]*' || true; } | sed -e 's/^--//' -e 's/-*$//'
}

# The sub-commands autofactory --help lists ("  autofactory token create [--db PATH] ..."):
# the lowercase words after the program name.
help_commands() {
  awk '/^Sub-commands:$/ { on = 1; next }
       /^Options:$/ { on = 0 }
       on && $1 == "autofactory" {
         cmd = ""
         for (i = 2; i <= NF && $i ~ /^[a-z]+$/; i++) cmd = cmd (cmd == "" ? "" : " ") $i
         if (cmd != "") print cmd
       }' | sort -u
}

# The page's lines, without comments.
page_text() {
  grep -vE '^[.'"'"'][[:space:]]*\\"' "$1" || true
}

# "PROGRAM NAME" for every \-\-name in page $1 of program $2: PROGRAM is $2, except in an
# example (.EX ... .EE) whose command line ("$ [sudo [-u USER]] [VAR=VALUE] PROGRAM ...",
# continued after a trailing \e, or a pipeline's later stage) runs another program.
page_options() {
  page_text "$1" | awk -v self="$2" '
    function program_of(segment, prompt,   n, t, i) {
      n = split(segment, t, /[ \t]+/)
      i = 1
      while (i <= n && t[i] == "") i++
      if (prompt && t[i] == "$") i++
      while (i <= n && t[i] ~ /^[A-Za-z_][A-Za-z0-9_]*=/) i++
      if (t[i] == "sudo") {
        i++
        while (i <= n && t[i] ~ /^-/) { if (t[i] == "-u") i++; i++ }
      }
      sub(/^.*\//, "", t[i])
      return t[i]
    }
    function ours(p) { return p == "autofactory" || p == "autofact-agent" }
    /^\.EX/ { ex = 1; prog = ""; after = ""; next }
    /^\.EE/ { ex = 0; next }
    {
      line = $0
      gsub(/\\-/, "-", line)
      n = split(line, seg, /\|/)
      for (s = 1; s <= n; s++) {
        who = self
        if (ex) {
          if (s > 1 || after == "pipe")
            prog = program_of(seg[s], 0)          # a pipeline stage
          else if (after != "continued") {
            # A command with a prompt, or one of ours shown without; else output.
            prog = program_of(seg[s], line ~ /^\$ /)
            if (line !~ /^\$ / && !ours(prog))
              prog = ""
          }
          if (prog != "")
            who = prog
        }
        rest = seg[s]
        while (match(rest, /--[a-z0-9]+(-[a-z0-9]+)*/)) {
          print who, substr(rest, RSTART + 2, RLENGTH - 2)
          rest = substr(rest, RSTART + RLENGTH)
        }
      }
      after = !ex ? "" : line ~ /\|[ \t]*$/ ? "pipe" : line ~ /\\e$/ ? "continued" : ""
    }'
}

# The .SS headings of the page's COMMANDS section, font escapes and quotes removed.
page_commands() {
  awk '/^\.SH/ { on = ($0 ~ /^\.SH "?COMMANDS"?[[:space:]]*$/); next }
       on && /^\.SS/ { sub(/^\.SS[[:space:]]+/, ""); print }' "$1" |
    sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/"//g' -e 's/[[:space:]]*$//'
}

# Structure and formatting of one page, whatever its options.
check_page_form() {
  local program=$1 page=$2 bare warnings name_line expected
  # What lexgrog and lintian parse for whatis: "name \- description", alone after .SH NAME.
  expected="${program//-/\\-} \\- "
  name_line=$(page_text "$page" | awk '/^\.SH/ { on = ($2 == "NAME"); next } on { print; exit }')
  if [[ $name_line != "$expected"[!\ ]* ]]; then
    fail "$page: the NAME line must read '${expected}description', not '$name_line'"
  fi
  # A bare "-" before a letter or digit at the start of a word, or "--" anywhere, is an
  # option or a minus sign set as a hyphen.
  bare=$(awk '/^[.'"'"'][[:space:]]*\\"/ { next }
              { l = $0; gsub(/\\-/, "", l) }
              l ~ /--|(^|[[:space:]"(|[])-[A-Za-z0-9]/ { print NR ": " $0 }' "$page")
  if [[ -n $bare ]]; then
    fail "$page: hyphen-minus written as a bare '-' (write '\\-'):"
    printf '  %s\n' "$bare" >&2
  fi
  if command -v man >/dev/null; then
    if ! warnings=$(MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null) ||
       [[ -n $warnings ]]; then
      fail "$page: man --warnings reports:"
      printf '  %s\n' "${warnings:-(failed without a message)}" >&2
    fi
  fi
}

# The helps of each program: one file per --help under $work/help/PROGRAM/.
mkdir -p "$work/help/autofactory" "$work/help/autofact-agent"
if save_help "$work/help/autofactory/0" autofactory "$server"; then
  mapfile -t help_cmds < <(tail -n +2 "$work/help/autofactory/0" | help_commands)
  if [[ ${#help_cmds[@]} -eq 0 ]]; then
    fail "'autofactory --help' lists no sub-commands (has its format changed?)"
  fi
  n=1
  for cmd in "${help_cmds[@]}"; do
    # shellcheck disable=SC2086 # "token create" is two arguments
    save_help "$work/help/autofactory/$n" "autofactory $cmd" "$server" $cmd || true
    n=$((n + 1))
  done
fi
save_help "$work/help/autofact-agent/0" autofact-agent "$agent" || true
# Without every help there is nothing sound to compare.
if [[ $status -ne 0 ]]; then
  exit 1
fi

# Per program: "NAME LABEL" for each option its helps define, and each name they mention.
for program in autofactory autofact-agent; do
  for file in "$work/help/$program"/*; do
    [[ -f $file ]] || continue
    label=$(head -n 1 "$file")
    tail -n +2 "$file" | defined_options | sed "s|\$| $label|"
  done > "$work/$program.defined"
  for file in "$work/help/$program"/*; do
    [[ -f $file ]] || continue
    tail -n +2 "$file" | mentioned_options
  done | sort -u > "$work/$program.mentioned"
done

for program in autofactory autofact-agent; do
  page=$mandir/$program.1
  if [[ ! -f $page ]]; then
    fail "$page is missing"
    continue
  fi
  page_options "$page" "$program" | sort -u > "$work/$program.page"

  # In --help, not in the page.
  while read -r opt; do
    [[ $qt_generic == *" $opt "* ]] && continue
    if ! awk -v o="$opt" '$2 == o { found = 1 } END { exit !found }' "$work/$program.page"; then
      where=$(awk -v o="$opt" '$1 == o { $1 = ""; sub(/^ /, ""); printf "%s'\''%s --help'\''", sep, $0; sep = ", " }' \
        "$work/$program.defined")
      fail "$program: --$opt is in $where but not in $page"
    fi
  done < <(cut -d' ' -f1 "$work/$program.defined" | sort -u)

  # In the page, in no --help of the program it belongs to.
  while read -r who opt; do
    [[ $qt_generic == *" $opt "* ]] && continue
    [[ $who == autofactory || $who == autofact-agent ]] || continue
    if ! grep -qxF -- "$opt" "$work/$who.mentioned"; then
      if [[ $who == "$program" ]]; then
        fail "$program: --$opt is in $page but in no $who --help"
      else
        fail "$program: --$opt is in an example of $who in $page but in no $who --help"
      fi
    fi
  done < "$work/$program.page"

  check_page_form "$program" "$page"
  echo "manpages: $page: $(awk -v p="$program" '$1 == p { print $2 }' "$work/$program.page" | sort -u | wc -l) of its options named;" \
    "$(cut -d' ' -f1 "$work/$program.defined" | sort -u | wc -l) defined by $program's --help"
done

# COMMANDS against autofactory --help's "Sub-commands".
page=$mandir/autofactory.1
if [[ -f $page && -f $work/help/autofactory/0 ]]; then
  mapfile -t page_cmds < <(page_commands "$page" | sort -u)
  for cmd in "${help_cmds[@]}"; do
    printf '%s\n' "${page_cmds[@]}" | grep -qxF -- "$cmd" ||
      fail "autofactory: sub-command '$cmd' is in 'autofactory --help' but not in the COMMANDS section of $page"
  done
  for cmd in "${page_cmds[@]}"; do
    printf '%s\n' "${help_cmds[@]}" | grep -qxF -- "$cmd" ||
      fail "autofactory: the COMMANDS section of $page has '$cmd', which 'autofactory --help' does not list"
  done
fi

if [[ $status -eq 0 ]]; then
  echo "manpages: ok"
fi
exit "$status"
