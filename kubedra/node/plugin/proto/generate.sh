#!/bin/sh
# Regenerates the committed protobuf/gRPC stubs from the .proto files in this
# directory. protoc emits absolute imports (`import dra_v1_pb2`); they are rewritten
# to package-relative ones so the stubs work as kubedra.node.plugin.proto.*.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
cd "$here"
"$python" -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. \
  pluginregistration.proto dra_v1.proto dra_v1beta1.proto dra_health_v1alpha1.proto health.proto
for f in *_pb2_grpc.py; do
  sed -i -E 's/^import ([a-z0-9_]+_pb2) as /from . import \1 as /' "$f"
done
