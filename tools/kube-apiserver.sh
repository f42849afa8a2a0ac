#!/usr/bin/env bash
# Prints the path of a real kube-apiserver for the Kubernetes tests, building
# it first if the user's cache directory does not hold one of this version.
#
# No cluster runs on the test machines, but its API server can: it is built
# from the Go module proxy (k8s.io/kubernetes, whose k8s.io/* staging modules
# are replaced by the matching published v0.x releases, the replace lines of
# its own go.mod) and kept under
#   ${XDG_CACHE_HOME:-$HOME/.cache}/quannex-gameday/kube-apiserver-VERSION/
# so that only the first run pays for the build (about ten minutes on two
# cores). KUBE_VERSION picks another release (default below).
set -euo pipefail

version=${KUBE_VERSION:-v1.34.2}
case $version in
v1.[0-9]*.[0-9]*) ;;
*) echo "tools/kube-apiserver.sh: KUBE_VERSION=$version is not a release like v1.34.2" >&2; exit 2 ;;
esac
dir=${XDG_CACHE_HOME:-$HOME/.cache}/quannex-gameday/kube-apiserver-$version
bin=$dir/kube-apiserver
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

echo "tools/kube-apiserver.sh: building kube-apiserver $version into $dir (once)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOWORK=off
go mod init kube-apiserver-build >/dev/null 2>&1
go mod edit -require="k8s.io/kubernetes@$version"
gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
staging=v0.${version#v1.}
n=0
for m in $(sed -n 's|^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*|\1|p' "$gomod"); do
  go mod edit -replace="$m=$m@$staging"
  n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
  echo "tools/kube-apiserver.sh: no staging replace lines in $gomod" >&2
  exit 1
fi
mkdir -p "$dir"
go build -trimpath -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$bin.tmp" "$bin"
echo "tools/kube-apiserver.sh: built $("$bin" --version)" >&2
echo "$bin"
