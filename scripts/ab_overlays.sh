#!/usr/bin/env bash
# Prepares variants of the checkout for scripts/gpu_ab.sh: for each git REF, the files it changes
# against HEAD, at their repository paths, in .ab/<n>-<ref>/ (ignored by git; name `.ab` in the
# device call's carry). REF must contain HEAD (rebase it first) and may add and modify files only:
# an overlay is copied over the checkout, so it cannot delete or rename. A merge of two branches
# makes the variant that has both.
#   scripts/ab_overlays.sh REF...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -gt 0 ] || { echo "usage: scripts/ab_overlays.sh REF..." >&2; exit 2; }
for ref in "$@"; do
  git rev-parse -q --verify "$ref^{commit}" >/dev/null ||
    { echo "ab_overlays: $ref is not a commit" >&2; exit 1; }
  git merge-base --is-ancestor HEAD "$ref" ||
    { echo "ab_overlays: $ref does not contain HEAD; rebase it onto HEAD first" >&2; exit 1; }
  if [ -n "$(git diff --name-only --diff-filter=DR HEAD "$ref")" ]; then
    echo "ab_overlays: $ref deletes or renames files; an overlay can only add and modify" >&2
    exit 1
  fi
done
rm -rf .ab
n=0
for ref in "$@"; do
  n=$((n + 1))
  dir=.ab/$n-$(printf '%s' "$ref" | tr -c 'A-Za-z0-9._-' '_')
  mkdir -p "$dir"
  count=0
  while IFS= read -r f; do
    mkdir -p "$dir/$(dirname "$f")"
    git show "$ref:$f" >"$dir/$f"
    [ "$(git ls-tree "$ref" -- "$f" | cut -d' ' -f1)" != 100755 ] || chmod +x "$dir/$f"
    count=$((count + 1))
  done < <(git diff --name-only HEAD "$ref")
  echo "$dir: $count files, $(git rev-parse --short "$ref") over $(git rev-parse --short HEAD)"
done
