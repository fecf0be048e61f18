#!/usr/bin/env bash
# Snakemake (`--sdm conda`) runs this once inside the freshly created envs/semaug.yaml
# environment, from the workflow's working directory. It installs the semaug package from the
# repository checkout (editable, no dependencies: conda brought them).
#
# Where the checkout is: $SEMAUG_SRC when set, else the working directory when it is the
# checkout (the usual `cd semaug && snakemake --sdm conda`). With `--directory elsewhere`, run
#   SEMAUG_SRC=/path/to/semaug snakemake --sdm conda --directory elsewhere ...
set -euo pipefail

src="${SEMAUG_SRC:-}"
if [ -z "$src" ] && grep -qs '^name = "semaug"' pyproject.toml; then
    src="$PWD"
fi
if [ -z "$src" ] || ! grep -qs '^name = "semaug"' "$src/pyproject.toml"; then
    echo "semaug post-deploy: cannot find the semaug checkout (looked at \$SEMAUG_SRC='${SEMAUG_SRC:-}'" \
         "and the working directory $PWD). Set SEMAUG_SRC to the repository and rerun;" \
         "Snakemake removes the half-made environment." >&2
    exit 1
fi
python -m pip install --no-deps --no-build-isolation --quiet -e "$src"
python -c "import semaug; print('semaug', semaug.__file__)"
