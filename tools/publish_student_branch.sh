#!/usr/bin/env bash
# Publish the student edition (written by `bash tasks.sh student`) as the branch `student-edition` of a repository,
# with the copies under book/ (the same paths as the chapters), so that the website's Colab and Binder buttons, which
# the publishing workflow points at that branch, open a student copy whose first cell installs the library.
# Usage: bash tools/publish_student_branch.sh STUDENT_DIR REMOTE_URL SOURCE_COMMIT
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
student="$(cd "$1" && pwd)"
remote="$2"
source_commit="$3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/book"
cp -r "$student/." "$work/book/"
# Binder: the pinned environment of the book (the locks, without the library: each chapter's first cell installs it).
mkdir -p "$work/.binder"
cp "$root/.binder/runtime.txt" "$work/.binder/"
grep -hv '^-r ' "$root/requirements.txt" "$root/requirements-jupyter.txt" > "$work/.binder/requirements.txt"
cat > "$work/README.md" <<MD
# Student edition

Generated from commit ${source_commit} by \`bash tasks.sh student\`; do not edit here (every publish replaces this
branch). The chapters are under \`book/\`; each one's first cell installs the book's library when it is missing.
MD
cd "$work"
git init -q -b student-edition
git add -A
git -c user.name="publish workflow" -c user.email="publish-workflow@users.noreply.github.com" \
  commit -q -m "Student edition of ${source_commit}"
git push -q -f "$remote" student-edition
